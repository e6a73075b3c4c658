/**
 * Issue 10.1 on the real services: the leader claims a slot ahead of its instant (run row
 * under the fence) and publishes it at once with its instant in a not-before header; the
 * worker holds it and starts it at the instant, never before. A leader `kill -9`ed between the
 * claim and the publish (its broker unreachable) leaves the run to the next leader, and the
 * slot runs once; a job paused in between is not run, and its run says why. The fake-clock
 * twin: look-ahead.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import type { RunRecord } from '../../src/store/port.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_URL, DATABASE_URL } from '../helpers/env.js';
import { aheadJob } from '../helpers/liveness-jobs.js';
import { spawnLivenessChild, type LivenessChild } from '../helpers/liveness-process.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

let fx: SchedulerFixture;
const closers: Array<() => Promise<unknown>> = [];
const children: LivenessChild[] = [];

beforeAll(async () => {
  fx = await schedulerFixture('lookahead');
});

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill9()));
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

afterAll(async () => {
  await fx?.teardown();
});

/** Nothing listens here: a broker that never answers. */
const DEAD_AMQP_URL = 'amqp://guest:guest@127.0.0.1:1';

/** The claim lands 8 s before each 10-second slot: seconds to act between the claim and the instant. */
const LOOK_AHEAD = '8s';

async function scheduler(name: string, scope: string, options: Partial<Parameters<typeof createScheduler>[0]> = {}): Promise<Scheduler> {
  const { pool } = await fx.pool(`${scope}-${name}`.slice(0, 60));
  const s = createScheduler({
    pool,
    schema: fx.schema,
    amqpUrl: AMQP_URL,
    scope,
    instanceId: `${scope}-${name}`,
    jobs: [aheadJob],
    migrate: false,
    lookAhead: LOOK_AHEAD,
    ...options,
  });
  s.on('error', () => {});
  closers.push(() => s.close());
  await s.start();
  return s;
}

/** Handler entries of each run: Date.now() at each call. */
type Calls = Map<string, number[]>;

/** A worker that records the handler calls of each run. */
async function worker(name: string, scope: string, calls: Calls): Promise<Worker> {
  const { pool } = await fx.pool(`${scope}-${name}`.slice(0, 60));
  const w = createWorker({ pool, schema: fx.schema, amqpUrl: AMQP_URL, scope, workerId: `${scope}-${name}` }).handle(
    aheadJob,
    ({ runId }) => void calls.set(runId, [...(calls.get(runId) ?? []), Date.now()]),
  );
  w.on('error', () => {});
  closers.push(() => w.close());
  await w.start();
  await w.ready();
  return w;
}

/** A slot claimed ahead, published or not yet, at least a second before its instant. */
const claimedAhead = (scope: string, published: boolean) =>
  waitFor(
    async () =>
      (await fx.runsOf('ahead', scope)).find(
        (r) => r.status === 'pending' && (r.publishedAt !== null) === published && r.scheduledFor.getTime() > Date.now() + 1000,
      ),
    published ? 'a slot claimed ahead and published before its instant' : 'a slot claimed ahead of its instant, not published',
    { timeoutMs: 30_000 },
  );

const succeeded = (scope: string, runId: string) =>
  waitFor(
    async () => {
      const run = (await fx.runsOf('ahead', scope)).find((r) => r.runId === runId);
      return run?.status === 'succeeded' ? run : null;
    },
    `run ${runId} to succeed`,
    { timeoutMs: 60_000 },
  );

describe('look-ahead on PostgreSQL and RabbitMQ', () => {
  it('a slot claimed ahead is published at once with its instant; the worker holds it and starts it at its instant, not before', async () => {
    const scope = `${fx.scope}h`;
    fx.alsoScope(scope);
    const calls: Calls = new Map();
    const w = await worker('worker', scope, calls);
    await scheduler('leader', scope);
    const run = await claimedAhead(scope, true);
    await waitFor(() => w.stats().held >= 1, 'the worker holding its trigger', { timeoutMs: 30_000 });
    expect(calls.has(run.runId)).toBe(false);
    const done = await succeeded(scope, run.runId);
    expect(calls.get(run.runId)).toHaveLength(1);
    expect(calls.get(run.runId)![0]).toBeGreaterThanOrEqual(run.scheduledFor.getTime());
    expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(run.scheduledFor.getTime());
    expect(w.stats()).toMatchObject({ early: 0, duplicates: 0 });
  });

  it('a leader killed between claiming a slot ahead and publishing it: the next leader publishes it, and it runs once', async () => {
    const scope = `${fx.scope}k`;
    fx.alsoScope(scope);
    // Its broker is unreachable: it claims slots ahead under its fence but cannot publish them.
    const doomed = spawnLivenessChild({
      role: 'scheduler',
      job: 'ahead',
      lookAhead: LOOK_AHEAD,
      databaseUrl: DATABASE_URL,
      amqpUrl: DEAD_AMQP_URL,
      schema: fx.schema,
      scope,
      instanceId: `${scope}-doomed`,
      applicationName: `${scope}-doomed`.slice(0, 60),
      liveness: true,
      leaseTtl: '60s',
    });
    children.push(doomed);
    await doomed.line((l) => typeof l.leading === 'number', 'the child leading');
    const run = await claimedAhead(scope, false);
    await doomed.kill9();
    // Dead before its instant: the row it committed under its fence is all that is left.
    expect((await fx.runsOf('ahead', scope)).find((r) => r.runId === run.runId)).toMatchObject({ status: 'pending', publishedAt: null });

    const calls: Calls = new Map();
    const w = await worker('worker', scope, calls);
    const published: RunRecord[] = [];
    const next = await scheduler('next', scope, { outboxGrace: '0s' });
    next.on('slot:published', (r) => published.push(r));

    const done = await succeeded(scope, run.runId);
    expect(done).toMatchObject({ attempt: 1, triggerSource: 'scheduler' });
    // The following slot runs too (the new leader carries on), and by then a second trigger
    // for the killed leader's slot would have been delivered and counted.
    const following = new Date(run.scheduledFor.getTime() + 10_000);
    const after = await waitFor(
      async () =>
        (await fx.runsOf('ahead', scope)).find((r) => r.scheduledFor.getTime() === following.getTime() && r.status === 'succeeded'),
      'the following slot to succeed',
      { timeoutMs: 60_000 },
    );
    expect(calls.get(run.runId)).toHaveLength(1);
    expect(calls.get(after.runId)).toHaveLength(1);
    expect(calls.get(run.runId)![0]).toBeGreaterThanOrEqual(run.scheduledFor.getTime());
    expect(published.filter((r) => r.runId === run.runId)).toHaveLength(1);
    expect(w.stats().duplicates).toBe(0);
    expect((await fx.runsOf('ahead', scope)).filter((r) => r.scheduledFor.getTime() === run.scheduledFor.getTime())).toHaveLength(1);
  });

  it('a job paused between claiming a slot ahead and its instant: the run is recorded cancelled with the reason, and its held trigger is dropped unrun', async () => {
    const scope = `${fx.scope}p`;
    fx.alsoScope(scope);
    const calls: Calls = new Map();
    const w = await worker('worker', scope, calls);
    const dropped: string[] = [];
    w.on('message:dropped', ({ runId, outcome }) => dropped.push(`${runId} ${outcome}`));
    const leader = await scheduler('leader', scope);
    const run = await claimedAhead(scope, true);
    await waitFor(() => w.stats().held >= 1, 'the worker holding its trigger', { timeoutMs: 30_000 });

    await leader.pause('ahead', { note: 'maintenance' });
    expect((await fx.runsOf('ahead', scope)).find((r) => r.runId === run.runId)).toMatchObject({
      status: 'cancelled',
      error: 'job paused before its slot',
    });

    // At its instant the worker's claim finds the run cancelled and drops the trigger.
    await waitFor(() => dropped.includes(`${run.runId} duplicate`), 'the held trigger dropped at its instant', { timeoutMs: 30_000 });
    expect(calls.has(run.runId)).toBe(false);
    expect((await fx.runsOf('ahead', scope)).find((r) => r.runId === run.runId)).toMatchObject({
      status: 'cancelled',
      error: 'job paused before its slot',
      startedAt: null,
    });
    expect(w.stats()).toMatchObject({ claimed: 0, staleEpoch: 0 });
  });
});
