/**
 * The rig of the worker's fake-clock tests: a FakeClock, the in-memory store and broker,
 * workers made on them (closed by `closeRigWorkers`, from the file's afterEach) and runs
 * enqueued as the leader would. `store` wraps the in-memory store the workers see, for a
 * test that injects store faults.
 */
import { FakeClock } from '../../src/clock.js';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import type { JobDefinition } from '../../src/define/types.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { JobRecord, NewRun, RunRecord, Store } from '../../src/store/port.js';
import { createWorker, type Worker, type WorkerOptions } from '../../src/worker/index.js';
import { enqueueRuns } from './runs.js';

export interface MemoryWorkerRig {
  clock: FakeClock;
  /** The in-memory store itself (the test's view, never faulty). */
  inner: MemoryStore;
  /** The store the workers get. */
  store: Store;
  transport: MemoryTransport;
  /** A worker on the rig's clock, store and broker, closed by `closeRigWorkers`. */
  worker(jobs: WorkerOptions['jobs'], extra?: Partial<WorkerOptions>): Worker;
  /** Pending manual runs of `definition`, published unless `publish` is false. */
  enqueue(definition: JobDefinition<any>, runs?: Array<Partial<NewRun>>, publish?: boolean): Promise<{ job: JobRecord; runs: RunRecord[] }>;
}

const open: Worker[] = [];

/** Closes every worker the rigs of this file made (call it from afterEach). */
export async function closeRigWorkers(): Promise<void> {
  await Promise.allSettled(open.splice(0).map((w) => w.close()));
}

export function memoryWorkerRig(options: { scope: string; start: number; store?: (inner: MemoryStore) => Store }): MemoryWorkerRig {
  const clock = new FakeClock(options.start);
  const inner = new MemoryStore();
  const transport = new MemoryTransport({ clock });
  const store = options.store?.(inner) ?? inner;
  const { scope } = options;
  return {
    clock,
    inner,
    store,
    transport,
    worker(jobs, extra = {}) {
      const w = createWorker({ store, transport, clock, scope, jobs, ...extra });
      open.push(w);
      return w;
    },
    enqueue: (definition, runs = [{}], publish = true) =>
      enqueueRuns({ store: inner, transport, scope, now: clock.now() }, definition, runs, { publish }),
  };
}
