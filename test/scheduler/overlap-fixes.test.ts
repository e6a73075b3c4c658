/**
 * Two overlap fixes, end to end on the real PostgreSQL and RabbitMQ with a real worker:
 * - a runNow of a queue-mode job whose chain is alive does not start a second chain (only
 *   chain links, the scheduler's seed and catch-up runs carry a chain on);
 * - under the default overlap (`skip`), a catch-up `all` backlog waits its turn instead of
 *   being recorded `skipped` behind its first run (`skip` passes over scheduled slots only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/broker/amqp-transport.js';
import { FakeClock } from '../../src/clock.js';
import { defineJob } from '../../src/define/define-job.js';
import { createScheduler, type Scheduler, type TickSummary } from '../../src/scheduler/index.js';
import { FINAL_STATUSES, type RunRecord } from '../../src/store/port.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

const isFinal = (run: RunRecord) => FINAL_STATUSES.includes(run.status);

describe('overlap fixes (real PostgreSQL, RabbitMQ and worker)', () => {
  let fx: SchedulerFixture;
  const schedulers: Scheduler[] = [];
  const workers: Worker[] = [];
  const transports: AmqpTransport[] = [];

  beforeAll(async () => {
    fx = await schedulerFixture('overlapfix');
  });

  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.close()));
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(transports.map((t) => t.close()));
    await fx.teardown();
  });

  it('runNow on a queue-mode job with a live chain leaves exactly one chain', async () => {
    // Default overlap (`skip`, maxParallel 1): the manual run and the chain take turns.
    const chained = defineJob({ id: 'chained', schedule: { every: '1s' }, reschedule: 'queue' });
    const { pool: schedulerPool } = await fx.pool(`${fx.scope}-chain-scheduler`);
    const { pool: workerPool } = await fx.pool(`${fx.scope}-chain-worker`);
    const scheduler = createScheduler({
      pool: schedulerPool,
      schema: fx.schema,
      scope: fx.scope,
      amqpUrl: AMQP_URL,
      jobs: [chained],
      instanceId: 'chain-leader',
      leaseTtl: '5s',
      safetyTick: '500ms',
    });
    scheduler.on('error', () => {});
    schedulers.push(scheduler);
    const worker = createWorker({
      pool: workerPool,
      schema: fx.schema,
      amqpUrl: AMQP_URL,
      scope: fx.scope,
      jobs: [{ definition: chained, handler: () => {} }],
      leaseTtl: '10s',
    });
    worker.on('error', () => {});
    workers.push(worker);
    await scheduler.start();
    await worker.start();

    const links = (runs: RunRecord[]) => runs.filter((r) => r.triggerSource === 'chain' || r.triggerSource === 'scheduler');
    await waitFor(
      async () => links(await fx.runsOf('chained')).filter((r) => r.triggerSource === 'chain' && r.status === 'succeeded').length >= 2,
      'the chain to be alive',
    );

    const requested = await scheduler.runNow('chained');
    expect(requested.triggerSource).toBe('manual');
    const manual = await waitFor(async () => {
      const run = await fx.store.getRun(requested.runId);
      return run && isFinal(run) ? run : undefined;
    }, 'the manual run to finish');
    expect(manual.status).toBe('succeeded');
    const manualDoneAt = manual.finishedAt!.getTime();

    // Follow the chain for several links after the manual run, sampling how many links
    // are pending or running at once (a second chain keeps a second one in flight).
    let mostInFlight = 0;
    const after = await waitFor(
      async () => {
        const all = links(await fx.runsOf('chained'));
        mostInFlight = Math.max(mostInFlight, all.filter((r) => r.status === 'pending' || r.status === 'running').length);
        const later = all.filter((r) => r.scheduledFor.getTime() > manualDoneAt);
        return later.filter((r) => r.status === 'succeeded').length >= 6 ? later.filter(isFinal) : undefined;
      },
      'six chain links after the manual run',
      { timeoutMs: 40_000 },
    );

    // The manual run started no link of its own: a link of its chain would be due one
    // period after the manual run finished.
    expect(after.find((r) => r.scheduledFor.getTime() === manualDoneAt + 1000)).toBeUndefined();
    expect(mostInFlight).toBe(1);
    // One chain: each link is scheduled a period after the previous one finished, so
    // consecutive links are at least a period apart (two chains interleave closer).
    const gaps = after.slice(1).map((r, i) => r.scheduledFor.getTime() - after[i]!.scheduledFor.getTime());
    expect(gaps.filter((gap) => gap < 1000)).toEqual([]);
    expect(after.every((r) => r.triggerSource === 'chain' && r.status === 'succeeded')).toBe(true);

    await worker.close();
    await scheduler.close();
  });

  it('a catch-up `all` backlog under the default overlap (`skip`) runs in full, one at a time', async () => {
    // The scheduler and the worker share a FakeClock over the real PgStore and RabbitMQ:
    // ten minutes of downtime cost nothing. Busy deliveries are re-delayed 1 s by the
    // broker (real time), then claimed again at the same fake instant.
    const T0 = Date.UTC(2026, 0, 1);
    const MIN = 60_000;
    const slot = (k: number) => new Date(T0 + k * MIN);
    const clock = new FakeClock(T0 + 30_000);
    const backlog = defineJob({ id: 'backlog', schedule: { every: '1m' }, catchup: { mode: 'all', max: 3 } });
    expect(backlog.config).toMatchObject({ overlap: 'skip', maxParallel: 1 });
    // Its own scope: a fake-time leader lease beside the real-time one of the test above.
    const scope = `${fx.scope}_b`;
    fx.alsoScope(scope);

    const transport = new AmqpTransport({ url: AMQP_URL, scope });
    transport.on('error', () => {});
    transports.push(transport);
    const ticks: TickSummary[] = [];
    const scheduler = (name: string) => {
      const s = createScheduler({
        pool: fx.db.pool,
        schema: fx.schema,
        migrate: false,
        scope,
        transport,
        clock,
        jobs: [backlog],
        instanceId: name,
        leaseTtl: '1h',
        safetyTick: '1h',
      });
      s.on('tick', (summary) => ticks.push(summary));
      s.on('error', () => {});
      schedulers.push(s);
      return s;
    };
    const tickAt = async (at: number) => {
      await clock.advanceTo(at);
      return waitFor(
        async () => {
          await clock.flush();
          return ticks.find((t) => t.at.getTime() >= at);
        },
        `a tick at ${new Date(at).toISOString()}`,
      );
    };

    // The first catch-up run holds its slot until the others were turned away at least
    // once, so the backlog really contends for maxParallel 1.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const executed: string[] = [];
    let running = 0;
    let mostRunning = 0;
    const { pool: workerPool } = await fx.pool(`${fx.scope}-backlog-worker`);
    const worker = createWorker({
      pool: workerPool,
      schema: fx.schema,
      amqpUrl: AMQP_URL,
      scope,
      clock,
      jobs: [
        {
          definition: backlog,
          handler: async (ctx) => {
            executed.push(`${(ctx.scheduledFor.getTime() - T0) / MIN}:${ctx.triggerSource}`);
            mostRunning = Math.max(mostRunning, ++running);
            try {
              if (ctx.triggerSource === 'catchup' && executed.filter((e) => e.endsWith(':catchup')).length === 1) await gate;
            } finally {
              running -= 1;
            }
          },
        },
      ],
    });
    worker.on('error', () => {});
    workers.push(worker);

    const first = scheduler('backlog-first');
    await first.start();
    await waitFor(async () => {
      await clock.flush();
      return first.isLeader();
    }, 'the first scheduler to lead');
    await worker.start();

    // Slot 1 runs on time: claimed by the default look-ahead (250 ms) before it.
    await tickAt(slot(1).getTime() - 250);
    await clock.advanceTo(slot(1).getTime());
    await waitFor(async () => (await fx.runsOf('backlog', scope))[0]?.status === 'succeeded', 'slot 1 to run');
    await first.close();

    // Slots 2..11 pass with no scheduler; the restart is past slot 11's stale-after.
    const restartAt = slot(11).getTime() + 55_000;
    await clock.advanceTo(restartAt);
    const second = scheduler('backlog-second');
    await second.start();
    const tick = await tickAt(restartAt);
    expect(tick.inserted).toEqual({ pending: 3, missed: 7, skipped: 0 });

    await waitFor(() => {
      const stats = worker.stats();
      return stats.busy >= 2 || stats.skipped >= 1;
    }, 'the rest of the backlog to meet the running catch-up run');
    open();
    const runs = await waitFor(async () => {
      const all = await fx.runsOf('backlog', scope);
      return all.length === 11 && all.every(isFinal) ? all : undefined;
    }, 'every slot to be final');

    const missed = Array.from({ length: 7 }, (_, i) => `${5 + i}:missed:catchup`);
    expect(runs.map((r) => `${(r.scheduledFor.getTime() - T0) / MIN}:${r.status}:${r.triggerSource}`)).toEqual([
      '1:succeeded:scheduler',
      '2:succeeded:catchup',
      '3:succeeded:catchup',
      '4:succeeded:catchup',
      ...missed,
    ]);
    expect(worker.stats()).toMatchObject({ skipped: 0, succeeded: 4 });
    expect(worker.stats().busy).toBeGreaterThanOrEqual(2);
    expect([...executed].sort()).toEqual(['1:scheduler', '2:catchup', '3:catchup', '4:catchup']);
    // One at a time (maxParallel 1): the backlog waited, it did not pile up.
    expect(mostRunning).toBe(1);
  });
});
