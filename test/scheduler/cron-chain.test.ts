/**
 * A cron is a cron in queue mode too, on the real PostgreSQL and RabbitMQ: each link of a
 * seed-style chain lands on the next cron slot after the run before it, pause/resume keeps
 * one chain, and the §10 bodies each run once when shortened to a seconds cron.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { nextRun } from '../../src/define/schedule.js';
import type { JobContext, NormalizedSchedule } from '../../src/define/types.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import type { RunRecord } from '../../src/store/port.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { MOCK_BODIES, REAL_BODIES, type SeedBody } from '../helpers/seed-bodies.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

const SEOUL = 'Asia/Seoul';
const EVEN_SECONDS: NormalizedSchedule = { kind: 'cron', cron: '*/2 * * * * *', tz: SEOUL };
const queueOf = (body: SeedBody) => body.queue.replace(/^[a-z]+\.jobs\./, '');

describe('queue-mode cron chains (real PostgreSQL and RabbitMQ, real clock)', () => {
  let fx: SchedulerFixture;
  /** The §10.2 bodies go to a second scope; queues are per test file, so the prefixes are rewritten. */
  let mockScope: string;
  const schedulers: Scheduler[] = [];
  const workers: Worker[] = [];
  const started: Array<{ scope: string; jobId: string; runId: string; trigger: string }> = [];
  let real: Scheduler;
  let mock: Scheduler;

  const handler = (ctx: JobContext) => void started.push({ scope: ctx.scope, jobId: ctx.jobId, runId: ctx.runId, trigger: ctx.triggerSource });
  const succeeded = async (scope: string, jobId: string): Promise<RunRecord[]> => (await fx.runsOf(jobId, scope)).filter((r) => r.status === 'succeeded');
  const live = async (scope: string, jobId: string): Promise<RunRecord[]> => (await fx.runsOf(jobId, scope)).filter((r) => r.status === 'pending' || r.status === 'running');
  const inScope = (body: SeedBody, scope: string) => ({ ...body, queue: `${scope}.jobs.${queueOf(body)}` });

  beforeAll(async () => {
    fx = await schedulerFixture('cronchain');
    mockScope = uniqueToken('cronchain_mock');
    fx.alsoScope(mockScope);
    const chain = defineJob({ id: 'even', queue: 'even' });
    for (const [scope, bodies, extra] of [
      [fx.scope, REAL_BODIES, [chain]],
      [mockScope, MOCK_BODIES, []],
    ] as const) {
      const { pool } = await fx.pool(`${scope}-sched`);
      const scheduler = createScheduler({ pool, schema: fx.schema, scope, amqpUrl: AMQP_URL, timezone: SEOUL, leaseTtl: '5s', safetyTick: '500ms', outboxGrace: '1s' });
      scheduler.on('error', () => {});
      schedulers.push(scheduler);
      // A worker runs each body's job (same id and queue); the body posted later replaces its settings.
      const carriers = [...bodies.map((body) => defineJob({ id: body.job_id, queue: queueOf(body) })), ...extra];
      const w = await fx.pool(`${scope}-worker`);
      const worker = createWorker({ pool: w.pool, schema: fx.schema, amqpUrl: AMQP_URL, scope, timezone: SEOUL, jobs: carriers.map((definition) => ({ definition, handler })) });
      workers.push(worker);
    }
    [real, mock] = schedulers as [Scheduler, Scheduler];
    for (const s of schedulers) await s.start();
    for (const w of workers) await w.start();
  });

  afterAll(async () => {
    for (const w of workers) await w.close();
    for (const s of schedulers) await s.close();
    await fx.teardown();
  });

  /** Each link's slot is the cron's next slot after the run before it finished. */
  const expectCronLinks = (runs: RunRecord[]) => {
    for (const [i, run] of runs.entries()) {
      expect(run.scheduledFor.getTime() % 2000).toBe(0);
      expect(run.startedAt!.getTime()).toBeGreaterThanOrEqual(run.scheduledFor.getTime());
      if (i > 0) {
        expect(run.triggerSource).toBe('chain');
        expect(run.scheduledFor.toISOString()).toBe(nextRun(EVEN_SECONDS, runs[i - 1]!.finishedAt!).toISOString());
      }
    }
  };

  it('chains each link to the next cron slot after the run before it', async () => {
    // The interval is the period for staleness (TTL 48 s), not the firing time: the cron decides.
    const created = await real.upsert({ job_id: 'even', queue: `${fx.scope}.jobs.even`, cron_expr: '*/2 * * * * *', reschedule_mode: 'queue', interval_seconds: 60 });
    expect(created.schedule).toEqual(EVEN_SECONDS);
    expect(created.nextDueAt!.getTime() % 2000).toBe(0);
    const runs = await waitFor(async () => {
      const done = await succeeded(fx.scope, 'even');
      return done.length >= 3 && done;
    }, 'three runs of the chain');
    expect(runs[0]!.scheduledFor.toISOString()).toBe(created.nextDueAt!.toISOString());
    expect(runs[0]!.triggerSource).toBe('scheduler');
    expectCronLinks(runs);
  });

  it('pause stops the chain; resume seeds one new chain at the next cron slot', async () => {
    const paused = await real.pause('even', { note: 'test' });
    expect(paused.paused).toBe(true);
    // The link in flight dies at its claim (stale epoch) instead of running.
    await waitFor(async () => (await live(fx.scope, 'even')).length === 0, 'the paused chain to die');
    const before = (await succeeded(fx.scope, 'even')).length;
    const resumedAt = Date.now();
    const resumed = await real.resume('even');
    expect(resumed.nextDueAt!.getTime() % 2000).toBe(0);
    expect(resumed.nextDueAt!.getTime()).toBeGreaterThan(resumedAt - 1000);
    const after = await waitFor(async () => {
      const done = (await succeeded(fx.scope, 'even')).slice(before);
      return done.length >= 3 && done;
    }, 'three runs after resume');
    expect(after[0]!.scheduledFor.toISOString()).toBe(resumed.nextDueAt!.toISOString());
    expect(after[0]!.triggerSource).toBe('scheduler');
    expectCronLinks(after);
    // One chain: every run left alive is of the resumed epoch, and there is at most one.
    const alive = await live(fx.scope, 'even');
    expect(alive.length).toBeLessThanOrEqual(1);
    expect(alive.every((r) => r.epoch === resumed.job.epoch)).toBe(true);
    const all = await fx.runsOf('even');
    expect(new Set(all.map((r) => r.scheduledFor.getTime())).size).toBe(all.length);
    expect(all.filter((r) => r.status === 'cancelled').length).toBeLessThanOrEqual(1);
    await real.pause('even');
  });

  it('each §10 body, posted to a scheduler of its scope and shortened to a seconds cron, runs once', async () => {
    const cases = [
      ...REAL_BODIES.map((body) => ({ scheduler: real, scope: fx.scope, body })),
      ...MOCK_BODIES.map((body) => ({ scheduler: mock, scope: mockScope, body })),
    ];
    for (const { scheduler, scope, body } of cases) {
      const created = await scheduler.upsert(inScope(body, scope));
      expect(created.schedule).toEqual({ kind: 'cron', cron: body.cron_expr, tz: SEOUL });
      // Its first slot is hours away: move the chain to the next even second instead.
      await scheduler.update(body.job_id, { cron_expr: '*/2 * * * * *' });
    }
    await waitFor(async () => {
      for (const { scope, body } of cases) if ((await succeeded(scope, body.job_id)).length === 0) return false;
      return true;
    }, 'one run of each body');
    for (const { scope, body } of cases) {
      const [first] = await succeeded(scope, body.job_id);
      expect(first!.scheduledFor.getTime() % 2000).toBe(0);
      expect(first!.params).toEqual('default_params' in body ? body.default_params : {});
      expect(started.some((s) => s.scope === scope && s.jobId === body.job_id && s.runId === first!.runId)).toBe(true);
    }
    for (const { scheduler, body } of cases) await scheduler.pause(body.job_id);
  });
});
