import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/broker/amqp-transport.js';
import { decodeMessage } from '../../src/broker/envelope.js';
import { FakeClock } from '../../src/clock.js';
import { defineJob } from '../../src/define/define-job.js';
import { workQueueName } from '../../src/names.js';
import { createScheduler, type Scheduler, type TickSummary } from '../../src/scheduler/index.js';
import { slotRunId } from '../../src/util/uuid.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

// Time is injected: the real PgStore and the real RabbitMQ transport run on a FakeClock,
// so ten minutes of downtime cost nothing. Lease and safety tick are long so that only
// the due-slot timers fire while the clock jumps.
const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const slot = (k: number) => new Date(T0 + k * MIN);

const jobs = [
  defineJob({ id: 'catchup-none', schedule: { every: '1m' }, catchup: 'none' }),
  defineJob({ id: 'catchup-latest', schedule: { every: '1m' }, catchup: 'latest' }),
  defineJob({ id: 'catchup-all', schedule: { every: '1m' }, catchup: { mode: 'all', max: 3 } }),
];

describe('downtime: all schedulers stopped across 10 slots', () => {
  let fx: SchedulerFixture;
  let transport: AmqpTransport;
  const clock = new FakeClock(T0 + 30_000);
  const ticks: TickSummary[] = [];
  const started: Scheduler[] = [];

  function scheduler(name: string): Scheduler {
    // No worker consumes here, so slot 1's trigger waits in its queue through the downtime:
    // the outbox backstop (republishAfter, default 10m) would resend it. Out of this test's
    // scope (test/scheduler/outbox-backstop.test.ts covers it): set past the downtime.
    const s = createScheduler({
      pool: fx.db.pool,
      schema: fx.schema,
      migrate: false,
      scope: fx.scope,
      transport,
      clock,
      jobs,
      instanceId: name,
      leaseTtl: '1h',
      safetyTick: '1h',
      republishAfter: '1h',
    });
    s.on('tick', (summary) => ticks.push(summary));
    s.on('error', () => {});
    started.push(s);
    return s;
  }

  /** Fires the Clock's due timers until a tick at or after `at` finished. */
  async function tickAt(at: number): Promise<TickSummary> {
    await clock.advanceTo(at);
    return waitFor(
      async () => {
        await clock.flush();
        return ticks.find((t) => t.at.getTime() >= at);
      },
      `a tick at ${new Date(at).toISOString()}`,
    );
  }

  beforeAll(async () => {
    fx = await schedulerFixture('downtime');
    transport = new AmqpTransport({ url: AMQP_URL, scope: fx.scope });
    transport.on('error', () => {});
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => s.close()));
    await transport.close();
    await fx.teardown();
  });

  it('restart runs what each catch-up policy says and records the rest as missed', async () => {
    const first = scheduler('first');
    await first.start();
    await waitFor(async () => {
      await clock.flush();
      return first.isLeader();
    }, 'the first scheduler to lead');
    for (const job of jobs) expect((await fx.store.getJob(fx.scope, job.id))?.nextDueAt).toEqual(slot(1));

    // Slot 1 runs on time under every policy: claimed ahead by the default look-ahead (250 ms).
    const onTime = await tickAt(slot(1).getTime() - 250);
    expect(onTime.inserted.pending).toBe(3);
    expect(onTime.ahead).toBe(3);
    await first.close();
    expect(first.isLeader()).toBe(false);

    // Slots 2..11 pass with no scheduler; the restart comes 55 s after slot 11, past its
    // stale-after deadline (0.8 × 1m = 48 s), so no slot is on time any more.
    const restartAt = slot(11).getTime() + 55_000;
    await clock.advanceTo(restartAt);
    const second = scheduler('second');
    await second.start();
    const tick = await tickAt(restartAt);
    expect(second.isLeader()).toBe(true);
    expect(tick.inserted).toEqual({ pending: 1 + 3, missed: 10 + 9 + 7, skipped: 0 });

    const statusOf = async (jobId: string) =>
      (await fx.runsOf(jobId)).map((r) => `${(r.scheduledFor.getTime() - T0) / MIN}:${r.status}:${r.triggerSource}`);
    const missed = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}:missed:catchup`);
    expect(await statusOf('catchup-none')).toEqual(['1:pending:scheduler', ...missed(2, 11)]);
    expect(await statusOf('catchup-latest')).toEqual(['1:pending:scheduler', ...missed(2, 10), '11:pending:catchup']);
    expect(await statusOf('catchup-all')).toEqual([
      '1:pending:scheduler',
      '2:pending:catchup',
      '3:pending:catchup',
      '4:pending:catchup',
      ...missed(5, 11),
    ]);

    // Every row has the slot's deterministic id; every slot not run says why.
    for (const job of jobs) {
      for (const run of await fx.runsOf(job.id)) {
        expect(run.runId).toBe(slotRunId(fx.scope, job.id, run.scheduledFor));
        if (run.status === 'missed') expect(run.error).toMatch(/^catch-up (none|latest|all):/);
        else expect(run.publishedAt).not.toBeNull();
      }
      expect((await fx.store.getJob(fx.scope, job.id))?.nextDueAt).toEqual(slot(12));
    }

    // The triggers really reached the work queues, once per run to execute.
    const published: Record<string, string[]> = {};
    for (const job of jobs) {
      const messages = await fx.admin.drain(workQueueName(fx.scope, job.id));
      published[job.id] = messages
        .map((m) => {
          const decoded = decodeMessage(m.content);
          if (!decoded.ok) throw new Error(decoded.reason);
          return `${(Date.parse(decoded.message.scheduled_for) - T0) / MIN}:${decoded.message.trigger_source}`;
        })
        .sort();
    }
    expect(published).toEqual({
      'catchup-none': ['1:scheduler'],
      'catchup-latest': ['11:catchup', '1:scheduler'],
      'catchup-all': ['1:scheduler', '2:catchup', '3:catchup', '4:catchup'],
    });
  });
});
