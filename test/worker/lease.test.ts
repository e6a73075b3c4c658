/**
 * A run's lease as the worker sees it, on the fake clock with the in-memory store and
 * broker: a newer attempt delivered while the old one still runs here, a worker cut off
 * from the store, a heartbeat query that hangs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeClock } from '../../src/clock.js';
import { publishRuns } from '../../src/scheduler/publish-runs.js';
import { defineJob } from '../../src/define/define-job.js';
import type { JobContext, JobDefinition } from '../../src/define/types.js';
import { reapExpiredLeases } from '../../src/scheduler/reaper.js';
import type { ClaimContext, ClaimRequest, ClaimResult, HeartbeatResult, JobRecord, RunRecord } from '../../src/store/port.js';
import type { Worker, WorkerOptions } from '../../src/worker/index.js';
import { closeRigWorkers, memoryWorkerRig, type MemoryWorkerRig } from '../helpers/memory-worker.js';
import { waitOnClock } from '../helpers/wait.js';

const SCOPE = 'lease';
const T0 = Date.parse('2026-03-01T00:00:00Z');

/** How the rig's store answers. */
type Mode =
  | 'up'
  /** every call fails (a partition between this worker and Postgres) */
  | 'down';

interface Rig extends Omit<MemoryWorkerRig, 'worker' | 'enqueue'> {
  mode: Mode;
  /** Replaces store.claimRuns while set. */
  claimRuns: ((requests: ClaimRequest[], ctx: ClaimContext) => Promise<ClaimResult[]>) | null;
  /** Replaces store.heartbeat while set. */
  heartbeat: ((ids: string[], ctx: ClaimContext) => Promise<HeartbeatResult>) | null;
  heartbeats: number;
  worker(definition: JobDefinition<any>, handler: (ctx: JobContext<unknown>) => Promise<void>, extra?: Partial<WorkerOptions>): Worker;
  enqueue(definition: JobDefinition<any>): Promise<{ run: RunRecord; job: JobRecord }>;
  /** The leader's reaper and outbox, once. */
  reap(job: JobRecord): Promise<RunRecord[]>;
  /** Advances the fake clock in small steps until `check` holds; fails after `maxMs` of fake time. */
  until(check: () => boolean | Promise<boolean>, what: string, maxMs?: number): Promise<void>;
}

afterEach(closeRigWorkers);

function rig(): Rig {
  const base = memoryWorkerRig({
    scope: SCOPE,
    start: T0,
    store: (inner) =>
      new Proxy(inner, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (prop === 'heartbeat') r.heartbeats += 1;
            if (r.mode === 'down') return Promise.reject(new Error('connect ETIMEDOUT 127.0.0.1:5432'));
            if (prop === 'heartbeat' && r.heartbeat) return r.heartbeat(...(args as [string[], ClaimContext]));
            if (prop === 'claimRuns' && r.claimRuns) return r.claimRuns(...(args as [ClaimRequest[], ClaimContext]));
            return value.apply(target, args);
          };
        },
      }),
  });
  const { clock, inner, transport } = base;
  const r: Rig = {
    clock,
    inner,
    transport,
    store: base.store,
    mode: 'up',
    claimRuns: null,
    heartbeat: null,
    heartbeats: 0,
    worker: (definition, handler, extra = {}) => base.worker([{ definition, handler }], extra),
    async enqueue(definition) {
      const { job, runs } = await base.enqueue(definition);
      return { run: runs[0]!, job };
    },
    async reap(job) {
      const now = new Date(clock.now());
      const { toPublish } = await reapExpiredLeases(inner, SCOPE, now, 100, (id) => inner.getJob(SCOPE, id));
      if (toPublish.length > 0) await publishRuns(transport, inner, toPublish, () => job, clock.now());
      return toPublish;
    },
    until: (check, what, maxMs = 120_000) => waitOnClock(clock, check, what, { stepMs: 100, maxMs }),
  };
  return r;
}

/** A handler that runs until released or its signal aborts; records who runs when. */
function tracker() {
  const active = new Set<number>();
  const started: number[] = [];
  const aborted = new Map<number, { at: number; reason: unknown }>();
  const release = new Map<number, () => void>();
  let concurrent = false;
  return {
    active,
    started,
    aborted,
    get concurrent() {
      return concurrent;
    },
    finish(attempt: number) {
      release.get(attempt)?.();
    },
    handler(clock: FakeClock) {
      return (ctx: JobContext<unknown>) =>
        new Promise<void>((resolve) => {
          if (active.size > 0) concurrent = true;
          active.add(ctx.attempt);
          started.push(ctx.attempt);
          const done = () => {
            active.delete(ctx.attempt);
            resolve();
          };
          release.set(ctx.attempt, done);
          ctx.signal.addEventListener('abort', () => {
            aborted.set(ctx.attempt, { at: clock.now(), reason: ctx.signal.reason });
            done();
          });
        });
    },
  };
}

const retrying = (id: string) => defineJob({ id, timeout: '1h', retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '2s' } } });

/**
 * A worker running attempt 1 of one run of a `retrying` job, on a fresh rig: the opening
 * every test below shares. `beforeEnqueue` installs a store fault after the worker started.
 */
async function attemptOneRunning(id: string, extra?: Partial<WorkerOptions>, beforeEnqueue?: (r: Rig) => void) {
  const r = rig();
  const def = retrying(id);
  const t = tracker();
  const w = r.worker(def, t.handler(r.clock), extra);
  await w.start();
  await r.clock.flush();
  beforeEnqueue?.(r);
  const { run, job } = await r.enqueue(def);
  await r.until(() => t.started.includes(1), 'attempt 1 started');
  return { r, def, t, w, run, job };
}

describe('a newer attempt delivered while the old one runs here', () => {
  it('stops the old execution and claims and runs the new attempt (not acked as a duplicate)', async () => {
    const { r, t, w, run, job } = await attemptOneRunning('renewed');
    // This worker believes its lease is renewed (say a blocked event loop, or a reply it
    // misread), but the store never extends it: the reaper retries the run.
    r.heartbeat = async (ids) => ({ extended: ids, cancel: [] });
    await r.clock.advance(31_000);
    const retried = await r.reap(job);
    expect(retried.map((x) => x.attempt)).toEqual([2]);
    // The retry's trigger comes to this same worker.
    await r.until(() => t.started.includes(2), 'attempt 2 started here');
    expect(t.aborted.get(1)?.reason).toMatchObject({ code: 'ERR_CLOSED', message: expect.stringMatching(/lease lost/) });
    expect(w.stats().duplicates).toBe(0);
    r.heartbeat = null;
    t.finish(2);
    await r.until(async () => (await r.inner.getRun(run.runId))?.status === 'succeeded', 'attempt 2 recorded');
    expect(await r.inner.getRun(run.runId)).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(w.stats()).toMatchObject({ claimed: 2, succeeded: 1 });
  });

  it('a redelivery of the attempt running here is still a local duplicate', async () => {
    const { r, t, w, run, job } = await attemptOneRunning('redelivered');
    await publishRuns(r.transport, r.inner, [{ ...run, status: 'pending' }], () => job, r.clock.now());
    await r.until(() => w.stats().duplicates === 1, 'the redelivery dropped');
    expect(t.aborted.size).toBe(0);
    t.finish(1);
    await r.until(async () => (await r.inner.getRun(run.runId))?.status === 'succeeded', 'attempt 1 recorded');
  });
});

describe('a worker cut off from the store', () => {
  it('stops its handler before the lease it last proved runs out, records nothing, and the retry runs alone', async () => {
    const { r, t, w, run, job } = await attemptOneRunning('partitioned', { leaseTtl: '30s', heartbeatInterval: '10s' });
    await r.clock.advance(15_000); // a heartbeat or more go through
    const proven = (await r.inner.getRun(run.runId))!.leaseUntil!.getTime();
    r.mode = 'down';
    await r.until(() => t.aborted.has(1), 'attempt 1 stopped');
    // Stopped while its last proven lease still held, so the reaper cannot yet have retried it.
    expect(t.aborted.get(1)!.at).toBeLessThan(proven);
    expect(t.aborted.get(1)!.reason).toMatchObject({ code: 'ERR_CLOSED', message: expect.stringMatching(/lease lost/) });
    await r.until(async () => (await r.reap(job)).length === 1, 'the reaper retried the run');
    r.mode = 'up';
    await r.until(() => t.started.includes(2), 'attempt 2 started');
    expect(t.concurrent).toBe(false);
    t.finish(2);
    await r.until(async () => (await r.inner.getRun(run.runId))?.status === 'succeeded', 'attempt 2 recorded');
    const row = (await r.inner.getRun(run.runId))!;
    expect(row.attempt).toBe(2);
    expect(w.stats()).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it('a heartbeat query that never answers does not stop the later beats', async () => {
    const { r, t, run } = await attemptOneRunning('hung-beat', { leaseTtl: '30s', heartbeatInterval: '10s' });
    let hung = false;
    r.heartbeat = (ids, ctx) => {
      if (!hung) {
        hung = true;
        return new Promise<HeartbeatResult>(() => {}); // a half-open connection
      }
      return r.inner.heartbeat(ids, ctx);
    };
    const before = r.heartbeats;
    await r.until(() => r.heartbeats >= before + 4, 'four more heartbeats');
    // The beats after the hung one kept the lease: the run still runs here.
    expect(t.aborted.size).toBe(0);
    const row = (await r.inner.getRun(run.runId))!;
    expect(row.status).toBe('running');
    expect(row.leaseUntil!.getTime()).toBeGreaterThan(r.clock.now());
    t.finish(1);
    await r.until(async () => (await r.inner.getRun(run.runId))?.status === 'succeeded', 'attempt 1 recorded');
  });
});

describe('a claim whose commit went through but whose reply was lost', () => {
  it('the retried claim finds the run held by this worker at that attempt and runs it', async () => {
    let calls = 0;
    const { r, t, w, run } = await attemptOneRunning('lost-reply', undefined, (r) => {
      r.claimRuns = async (requests, ctx) => {
        calls += 1;
        const results = await r.inner.claimRuns(requests, ctx);
        if (calls === 1) throw new Error('Connection terminated unexpectedly'); // committed, reply lost
        return results;
      };
    });
    expect(calls).toBe(2);
    expect(w.stats()).toMatchObject({ claimed: 1, duplicates: 0 });
    t.finish(1);
    await r.until(async () => (await r.inner.getRun(run.runId))?.status === 'succeeded', 'the run recorded');
  });

  it('a run this worker id claimed before the request was first sent (a previous process) stays a duplicate', async () => {
    const { r, def, w, run, job } = await attemptOneRunning('old-claim', { workerId: 'fixed-id', shutdownGrace: '0s' });
    let closed = false;
    void w.close().then(() => (closed = true));
    await r.until(() => closed, 'the first process closed');
    // A new process with the same worker id gets a redelivery while its first claim try fails.
    const t2 = tracker();
    const w2 = r.worker(def, t2.handler(r.clock), { workerId: 'fixed-id' });
    await w2.start();
    await r.clock.flush();
    let calls = 0;
    r.claimRuns = async (requests, ctx) => {
      calls += 1;
      if (calls === 1) throw new Error('Connection terminated unexpectedly');
      return r.inner.claimRuns(requests, ctx);
    };
    await publishRuns(r.transport, r.inner, [{ ...run, status: 'pending' }], () => job, r.clock.now());
    await r.until(() => w2.stats().duplicates === 1, 'the redelivery dropped as a duplicate');
    expect(t2.started).toEqual([]);
  });
});
