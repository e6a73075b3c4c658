/**
 * Issue 11.4: the leader keeps deciding while the broker is away. Before, the tick waited
 * on a publish the transport buffered, and the slots that passed meanwhile were written
 * only after the broker was back, as `missed` "catch-up latest: superseded by a later
 * slot", as if no scheduler had been leading. Now every slot is claimed and recorded on
 * time, the outbox sends it when the broker returns, and a slot whose deadline passed
 * meanwhile says why it did not run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_PORT, AMQP_URL } from '../helpers/env.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

const tick = defineJob({ id: 'tick', schedule: { every: '1s' } });

let fx: SchedulerFixture;
let proxy: TcpProxy;
let scheduler: Scheduler | undefined;
let worker: Worker | undefined;

beforeAll(async () => {
  fx = await schedulerFixture('broker-away');
  proxy = await startTcpProxy({ port: AMQP_PORT });
});

afterAll(async () => {
  await worker?.close().catch(() => {});
  await scheduler?.close().catch(() => {});
  await proxy?.close();
  await fx?.teardown();
});

it('claims and records every slot on time while the broker is cut, and sends them when it is back', async () => {
  const { pool } = await fx.pool('broker-away-leader');
  // Only the scheduler goes through the proxy; the worker keeps its own connection.
  scheduler = createScheduler({
    pool,
    schema: fx.schema,
    amqpUrl: proxy.url(AMQP_URL),
    scope: fx.scope,
    jobs: [tick],
    safetyTick: '1s',
    outboxGrace: '1s',
  });
  scheduler.on('error', () => {});
  worker = createWorker({ pool, schema: fx.schema, amqpUrl: AMQP_URL, scope: fx.scope }).handle(tick, () => {});
  worker.on('error', () => {});
  await scheduler.start();
  await worker.start();
  const succeeded = async () => (await fx.runsOf('tick')).filter((r) => r.status === 'succeeded');
  await waitFor(async () => (await succeeded()).length >= 2, 'two runs before the cut', { timeoutMs: 60_000 });

  proxy.pause();
  proxy.cutAll();
  const cutAt = Date.now();
  // While the broker is away the leader still claims each slot: pending rows, unpublished.
  const decided = await waitFor(
    async () => {
      const rows = (await fx.runsOf('tick')).filter((r) => r.scheduledFor.getTime() > cutAt);
      return rows.length >= 4 && rows;
    },
    'four slots claimed while the broker is unreachable',
    { timeoutMs: 60_000 },
  );
  expect(decided.every((r) => r.publishedAt === null)).toBe(true);
  expect(decided.some((r) => r.status === 'missed')).toBe(false);

  proxy.resume();
  const backAt = Date.now();
  await waitFor(async () => (await succeeded()).some((r) => r.scheduledFor.getTime() > backAt), 'a run after the broker is back', {
    timeoutMs: 60_000,
  });
  // The slots decided while it was away are finished, each with what happened.
  const during = await waitFor(
    async () => {
      const ids = new Set(decided.map((r) => r.runId));
      const rows = (await fx.runsOf('tick')).filter((r) => ids.has(r.runId));
      return rows.every((r) => r.status !== 'pending' && r.status !== 'running') && rows;
    },
    'the slots decided during the cut finished',
    { timeoutMs: 60_000 },
  );
  for (const run of during) {
    expect(['succeeded', 'expired']).toContain(run.status);
    // A trigger sent while the cut was not yet noticed is stamped when it was sent, so its
    // run may carry the plain reason; every other one says its trigger was late.
    if (run.status === 'expired') expect(run.error).toMatch(/^not started before its stale-after deadline/);
  }
  // One row per slot, none left out: every second from the first run to the last.
  const all = await fx.runsOf('tick');
  const slots = all.filter((r) => r.triggerSource === 'scheduler').map((r) => r.scheduledFor.getTime());
  expect(new Set(slots).size).toBe(slots.length);
  for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(1000);
}, 240_000);
