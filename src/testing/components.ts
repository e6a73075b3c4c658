/* eslint-disable @typescript-eslint/no-explicit-any -- the harness holds job definitions and handlers of every params type side by side */
import { createScheduler } from '../scheduler/index.js';
import { createWorker, type WorkerQueue } from '../worker/index.js';
import type { Clock } from '../clock.js';
import type { Transport } from '../broker/transport.js';
import type { JobDefinition, JobHandler } from '../define/types.js';
import type { Store } from '../store/port.js';
import type { Control } from '../scheduler/control-types.js';

/**
 * The one place the harness touches the real components: it builds them with the
 * sandboxed clock, store and transport of a simulated process. Everything else in the
 * harness talks to them through these narrow shapes.
 */
export interface SchedulerProcess {
  readonly instanceId: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  isLeader(): boolean;
  /** The control API of this instance; the harness serves its own through a live one. */
  readonly api: Control;
}

export interface WorkerProcess {
  readonly workerId: string;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface ProcessBackends {
  clock: Clock;
  store: Store;
  transport: Transport;
}

export function spawnScheduler(
  backends: ProcessBackends,
  opts: { scope: string; instanceId: string; jobs: JobDefinition<any>[]; leaseTtl?: number | string; extra?: Record<string, unknown> },
): SchedulerProcess {
  const scheduler = createScheduler({
    ...(opts.extra ?? {}),
    store: backends.store,
    transport: backends.transport,
    clock: backends.clock,
    scope: opts.scope,
    jobs: opts.jobs,
    instanceId: opts.instanceId,
    ...(opts.leaseTtl === undefined ? {} : { leaseTtl: opts.leaseTtl }),
  } as Parameters<typeof createScheduler>[0]);
  return {
    instanceId: opts.instanceId,
    start: () => scheduler.start(),
    stop: () => scheduler.close(),
    isLeader: () => scheduler.isLeader(),
    api: scheduler,
  };
}

export function spawnWorker(
  backends: ProcessBackends,
  opts: {
    scope: string;
    workerId: string;
    jobs: Array<{ definition: JobDefinition<any>; handler: JobHandler<any> }>;
    queues: WorkerQueue[];
    extra?: Record<string, unknown>;
  },
): WorkerProcess {
  const worker = createWorker({
    ...(opts.extra ?? {}),
    store: backends.store,
    transport: backends.transport,
    clock: backends.clock,
    scope: opts.scope,
    jobs: opts.jobs,
    queues: opts.queues,
    workerId: opts.workerId,
  });
  return {
    workerId: opts.workerId,
    start: () => worker.start(),
    close: () => worker.close(),
  };
}
