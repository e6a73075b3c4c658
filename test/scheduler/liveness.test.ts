/**
 * Issue 11.2: a dead process is noticed by PostgreSQL, not by a timer. Real processes
 * (test/helpers/liveness-child.ts) are `kill -9`ed mid-run or while leading; the leases are
 * long (60 s) so a pass proves the liveness lock did it: the retry starts, and the follower
 * takes the lease, while the dead process's lease row still lies in the future.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { PgStore } from '../../src/store/pg/index.js';
import { defineJob } from '../../src/define/define-job.js';
import type { RunRecord } from '../../src/store/port.js';
import { AMQP_URL, DATABASE_URL } from '../helpers/env.js';
import { slowJob } from '../helpers/liveness-jobs.js';
import { spawnLivenessChild, type LivenessChild } from '../helpers/liveness-process.js';
import type { LivenessChildConfig } from '../helpers/liveness-child.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

let fx: SchedulerFixture;
const closers: Array<() => Promise<unknown>> = [];
const children: LivenessChild[] = [];

beforeAll(async () => {
  fx = await schedulerFixture('liveness');
});

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill9()));
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

afterAll(async () => {
  await fx?.teardown();
});

function child(role: LivenessChildConfig['role'], name: string, overrides: Partial<LivenessChildConfig> = {}): LivenessChild {
  const c = spawnLivenessChild({
    role,
    databaseUrl: DATABASE_URL,
    amqpUrl: AMQP_URL,
    schema: fx.schema,
    scope: fx.scope,
    instanceId: `${fx.scope}-${name}`,
    applicationName: `${fx.scope}-${name}`.slice(0, 60),
    liveness: true,
    leaseTtl: '60s',
    ...overrides,
  });
  children.push(c);
  return c;
}

async function leader(name: string, options: Partial<Parameters<typeof createScheduler>[0]> = {}): Promise<Scheduler> {
  const { pool } = await fx.pool(`${fx.scope}-${name}`.slice(0, 60));
  const scheduler = createScheduler({
    pool,
    schema: fx.schema,
    amqpUrl: AMQP_URL,
    scope: fx.scope,
    instanceId: `${fx.scope}-${name}`,
    jobs: [slowJob, canaryJob],
    migrate: false,
    ...options,
  });
  scheduler.on('error', () => {});
  closers.push(() => scheduler.close());
  await scheduler.start();
  return scheduler;
}

async function worker(
  name: string,
  handler: () => Promise<void> | void,
  options: Partial<Parameters<typeof createWorker>[0]> = {},
): Promise<Worker> {
  const { pool } = await fx.pool(`${fx.scope}-${name}`.slice(0, 60));
  const w = createWorker({
    pool,
    schema: fx.schema,
    amqpUrl: AMQP_URL,
    scope: fx.scope,
    workerId: `${fx.scope}-${name}`,
    ...options,
  }).handle(slowJob, handler);
  w.on('error', () => {});
  closers.push(() => w.close());
  await w.start();
  await w.ready();
  return w;
}

const finished = (runId: string) =>
  waitFor(
    async () => {
      const run = await fx.store.getRun(runId);
      return run && run.status !== 'running' && run.status !== 'pending' ? run : null;
    },
    `run ${runId} to finish`,
    { timeoutMs: 120_000 },
  );

/** A child worker takes `slow` and is killed mid-run; a worker in this process is there for the retry. */
async function killWorkerMidRun(
  scheduler: Scheduler,
  overrides: Partial<LivenessChildConfig>,
): Promise<{ run: RunRecord; leaseAtKill: Date }> {
  const doomed = child('worker', 'doomed', overrides);
  await doomed.line((l) => l.ready === true, 'the doomed worker ready');
  const run = await scheduler.runNow('slow');
  await doomed.line((l) => l.running === run.runId, 'the doomed worker running the run');
  await worker('survivor', () => {});
  await doomed.kill9();
  // Dead: no more heartbeats, so this is the lease the run was left with.
  const left = await fx.store.getRun(run.runId);
  expect(left).toMatchObject({ status: 'running', attempt: 1, workerId: `${fx.scope}-doomed` });
  return { run, leaseAtKill: left!.leaseUntil! };
}

const canaryJob = defineJob({ id: 'canary', retry: { maxAttempts: 2, backoff: { type: 'fixed', delay: '0s', jitter: 0 } } });

describe('worker killed with -9', () => {
  it('its run is retried on another worker while its 60 s lease still runs', async () => {
    const scheduler = await leader('leader-a');
    await waitFor(() => scheduler.isLeader(), 'the scheduler leading');
    const { run, leaseAtKill } = await killWorkerMidRun(scheduler, { leaseTtl: '60s' });
    const done = await finished(run.runId);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, workerId: `${fx.scope}-survivor` });
    expect(done.attempts[0]!.error).toMatch(/liveness/);
    expect(done.attempts[1]!.startedAt!.getTime()).toBeLessThan(leaseAtKill.getTime());
  }, 180_000);

  it('without liveness on the worker, its run waits for the lease, as before', async () => {
    const scheduler = await leader('leader-b', { safetyTick: '500ms' });
    await waitFor(() => scheduler.isLeader(), 'the scheduler leading');
    const { run, leaseAtKill } = await killWorkerMidRun(scheduler, { leaseTtl: '3s', liveness: false });
    const done = await finished(run.runId);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(done.attempts[0]!.error).toMatch(/lease/);
    expect(done.attempts[1]!.startedAt!.getTime()).toBeGreaterThanOrEqual(leaseAtKill.getTime());
  }, 180_000);
});

describe('leader killed with -9', () => {
  it('a follower waiting on its lock leads within the liveness grace and publishes the next slot, before the dead lease expires', async () => {
    const doomed = child('scheduler', 'doomed-leader');
    await doomed.line((l) => typeof l.leading === 'number', 'the child leading');
    const follower = await leader('follower', { leaseTtl: '60s', jobs: [] });
    const key = `warren:${fx.schema}:scheduler:${fx.scope}-doomed-leader`;
    // The follower's first attempt failed and it now waits on the leader's lock.
    await waitFor(async () => {
      const { rows } = await fx.db.pool.query(
        `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock' AND NOT granted AND ((classid::int8 << 32) | objid::int8) = hashtextextended($1, 0)`,
        [key],
      );
      return rows.length > 0;
    }, 'the follower waiting on the leader lock');
    const published: RunRecord[] = [];
    follower.on('slot:published', (run) => published.push(run));
    const before = await fx.db.pool.query(
      `SELECT holder, fence_epoch::int AS epoch, expires_at FROM "${fx.schema}".leases WHERE scope = $1`,
      [fx.scope],
    );
    expect(before.rows[0]).toMatchObject({ holder: `${fx.scope}-doomed-leader` });
    const killedAt = Date.now();
    await doomed.kill9();
    await waitFor(() => follower.isLeader(), 'the follower leading');
    const after = await fx.db.pool.query(
      `SELECT holder, fence_epoch::int AS epoch, acquired_at FROM "${fx.schema}".leases WHERE scope = $1`,
      [fx.scope],
    );
    expect(after.rows[0]).toMatchObject({ holder: `${fx.scope}-follower`, epoch: before.rows[0].epoch + 1 });
    expect((after.rows[0].acquired_at as Date).getTime()).toBeLessThan((before.rows[0].expires_at as Date).getTime());
    const next = await waitFor(
      () => published.find((run) => run.jobId === 'beat' && run.scheduledFor.getTime() >= killedAt - 1000),
      'the new leader publishing a slot',
    );
    expect(next.status).toBe('pending');
  }, 180_000);
});

describe('a live worker whose liveness connection is terminated', () => {
  it('keeps its run while its lease is fresh, even while it cannot reconnect; a dead worker beside it is reaped', async () => {
    const grace = { livenessCheckInterval: '200ms', livenessGrace: '300ms' } as const;
    const scheduler = await leader('leader-c', grace);
    await waitFor(() => scheduler.isLeader(), 'the scheduler leading');
    const { proxy } = await fx.pool(`${fx.scope}-via-proxy`, { viaProxy: true, max: 1 });
    const viaProxy = new URL(DATABASE_URL);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy!.port);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    const name = 'cut-off';
    const live = await worker(
      name,
      async () => {
        started.push('x');
        await released;
      },
      {
        leaseTtl: '60s',
        livenessClient: () => new pg.Client({ connectionString: viaProxy.toString(), application_name: `${fx.scope}-${name}-lock` }),
      },
    );
    const key = `warren:${fx.schema}:worker:${live.workerId}`;
    const holder = async () =>
      (
        await fx.db.pool.query(
          `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND mode = 'ExclusiveLock' AND ((classid::int8 << 32) | objid::int8) = hashtextextended($1, 0)`,
          [key],
        )
      ).rows[0]?.pid as number | undefined;
    const pid = await waitFor(holder, 'the worker holding its liveness lock');
    const run = await scheduler.runNow('slow');
    await waitFor(() => started.length > 0, 'the handler running');

    proxy!.pause(); // it cannot reconnect
    await fx.db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor(async () => (await holder()) === undefined, 'the lock gone with its connection');

    // A truly dead worker next to it: once the leader reaped that one, it has looked at both
    // for longer than the grace.
    const canaryId = `${fx.scope}-canary`;
    const canaryLock = fx.store.holdLiveness('worker', canaryId)!;
    await waitFor(() => canaryLock.held, 'the canary holding its lock');
    const canaryRun = await scheduler.runNow('canary');
    const [claim] = await fx.store.claimRuns([{ runId: canaryRun.runId, attempt: 1 }], {
      now: new Date(),
      leaseMs: 600_000,
      workerId: canaryId,
    });
    expect(claim!.outcome).toBe('claimed');
    await canaryLock.close();
    await waitFor(async () => (await fx.store.getRun(canaryRun.runId))?.attempt === 2, 'the dead canary reaped');

    expect(await fx.store.getRun(run.runId)).toMatchObject({ status: 'running', attempt: 1, workerId: live.workerId });
    proxy!.resume();
    await waitFor(async () => (await holder()) !== undefined, 'the worker holding its lock again');
    release();
    expect(await finished(run.runId)).toMatchObject({ status: 'succeeded', attempt: 1 });
  }, 180_000);
});

describe('the dedicated connection', () => {
  it('is outside the pool: a worker on a pool of one holds its lock and runs its jobs', async () => {
    const scheduler = await leader('leader-d');
    await waitFor(() => scheduler.isLeader(), 'the scheduler leading');
    const ran: string[] = [];
    const { pool } = await fx.pool(`${fx.scope}-tiny`, { max: 1 });
    const w = createWorker({ pool, schema: fx.schema, amqpUrl: AMQP_URL, scope: fx.scope, workerId: `${fx.scope}-tiny` }).handle(
      slowJob,
      ({ runId }) => void ran.push(runId),
    );
    w.on('error', () => {});
    closers.push(() => w.close());
    await w.start();
    await w.ready();
    const key = `warren:${fx.schema}:worker:${fx.scope}-tiny`;
    await waitFor(
      async () =>
        (
          await fx.db.pool.query(
            `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND ((classid::int8 << 32) | objid::int8) = hashtextextended($1, 0)`,
            [key],
          )
        ).rows.length > 0,
      'the lock held',
    );
    const run = await scheduler.runNow('slow');
    expect(await finished(run.runId)).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(pool.totalCount).toBe(1);
  }, 60_000);

  it('cannot be opened from a bare client: the store says so (null) and the instance keeps its leases', async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    const store = new PgStore({ pool: client, schema: fx.schema });
    expect(store.holdLiveness('worker', `${fx.scope}-bare`)).toBeNull();
    await store.close();
  });
});
