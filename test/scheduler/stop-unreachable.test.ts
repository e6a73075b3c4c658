import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

// Review #4: a leader whose tick waits on a publish to an unreachable broker must still
// stop, and release its lease, at once; the run it could not publish goes to the outbox.
describe('Scheduler.close() with the broker unreachable', () => {
  let fx: SchedulerFixture;
  let broker: TcpProxy;
  const started: Scheduler[] = [];

  beforeAll(async () => {
    fx = await schedulerFixture('stopunreach');
    broker = await startTcpProxy({}, { paused: true });
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => s.close().catch(() => {})));
    await broker?.close();
    await fx?.teardown();
  });

  it('resolves while a tick is stuck in publish, releases the lease, and another scheduler leads at once', async () => {
    const jobs = [defineJob({ id: 'tick', schedule: { every: '1s' } })];
    const common = {
      pool: fx.db.pool,
      schema: fx.schema,
      migrate: false,
      scope: fx.scope,
      jobs,
      leaseTtl: '30s',
      outboxGrace: '200ms',
    } as const;
    const a = createScheduler({ ...common, amqpUrl: broker.url(AMQP_URL), instanceId: 'a' });
    a.on('error', () => {});
    started.push(a);
    await a.start();
    await waitFor(() => a.isLeader(), 'a leads');
    // A slot is claimed and its trigger is waiting on the unreachable broker (publishTimeout 30 s).
    const [stuck] = await waitFor(async () => {
      const runs = await fx.runsOf('tick');
      return runs.length > 0 && runs;
    }, 'a slot claimed by a');
    expect(stuck!.publishedAt).toBeNull();

    // Bounded by a guard far below publishTimeout and the lease TTL: without the fix it hangs.
    const outcome = await Promise.race([
      a.close().then(() => 'stopped'),
      new Promise((resolve) => setTimeout(() => resolve('still stopping after 10 s'), 10_000).unref()),
    ]);
    expect(outcome).toBe('stopped');
    expect(a.isLeader()).toBe(false);
    expect((await fx.store.getLeadership(fx.scope, new Date())).holder).toBeNull();

    // The next scheduler (its broker reachable) leads without waiting out the 30 s TTL, and its
    // outbox publishes the run a could not.
    const b = createScheduler({ ...common, amqpUrl: AMQP_URL, instanceId: 'b' });
    b.on('error', () => {});
    started.push(b);
    await b.start();
    await waitFor(() => b.isLeader(), 'b leads', { timeoutMs: 10_000 });
    await waitFor(async () => (await fx.store.getRun(stuck!.runId))?.publishedAt, 'the outbox to publish the stuck run', {
      timeoutMs: 10_000,
    });
    await b.close();
  });
});
