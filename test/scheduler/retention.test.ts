/**
 * Run-history retention driven by the leader (docs/retention.md): on the fake clock over
 * hours of an every-minute job, and on the real services with a backlog pruned in batches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { isWarrenError } from '../../src/errors.js';
import { createScheduler } from '../../src/scheduler/index.js';
import type { PruneSummary } from '../../src/scheduler/retention.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { JobRecord } from '../../src/store/port.js';
import { uuidv5 } from '../../src/util/uuid.js';
import { harnessStarter } from '../testing/started.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

const started = harnessStarter();
const HOUR = 3_600_000;

describe('retention on the fake clock', () => {
  it('an every-minute job keeps its last N runs, a job without its own policy the scope default, over 6 hours', async () => {
    const poll = defineJob({ id: 'poll', schedule: { every: '1m' }, retention: { keepLast: 10 } });
    const hourly = defineJob({ id: 'hourly', schedule: { every: '1h' } });
    const h = await started({ jobs: [poll, hourly], schedulerOptions: { retention: { interval: '10m', maxAge: '2h' } } });
    await h.advance('6h');

    const polls = await h.history('poll');
    const hourlies = await h.history('hourly');
    const audit = (await h.audit({ limit: 1000 })).filter((e) => e.action === 'prune');
    const pruned = (jobId: string) => audit.reduce((n, e) => n + Number((e.details.jobs as Record<string, number>)[jobId] ?? 0), 0);

    // Every slot ran; what is not in the history any more was pruned by a pass that said so.
    expect(polls.length + pruned('poll')).toBe(360);
    expect(hourlies.length + pruned('hourly')).toBe(6);
    // keepLast 10 plus what came since the last pass (at most one interval of runs).
    expect(polls.length).toBeGreaterThanOrEqual(10);
    expect(polls.length).toBeLessThanOrEqual(20);
    expect(polls.some((r) => r.scheduledFor.getTime() === h.clock.now())).toBe(true);
    // The scope's 2h (runs younger than 2h at the last pass, and those since).
    expect(hourlies.length).toBeGreaterThanOrEqual(2);
    expect(hourlies.length).toBeLessThanOrEqual(3);
    // One entry per pass that deleted something, counts per job, never one per run.
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.length).toBeLessThanOrEqual(36);
    for (const entry of audit) {
      expect(entry.jobId).toBe('*');
      const jobs = entry.details.jobs as Record<string, number>;
      expect(Object.values(jobs).reduce((a, b) => a + b, 0)).toBe(entry.details.deleted);
    }
  });

  it('a job changed through the control API takes its new policy at the next pass; a bad one is refused naming the field', async () => {
    const poll = defineJob({ id: 'poll', schedule: { every: '1m' } });
    const h = await started({ jobs: [poll], schedulerOptions: { retention: { interval: '10m' } } });
    await h.advance('1h');
    expect(await h.history('poll')).toHaveLength(60);
    const details = await h.update('poll', { retention: { keepLast: 5 } });
    expect(details.job.retention).toEqual({ keepLast: 5 });
    await h.advance('10m');
    const left = await h.history('poll');
    expect(left.length).toBeGreaterThanOrEqual(5);
    expect(left.length).toBeLessThanOrEqual(15);

    const error = await h.update('poll', { retention: { keepLast: 0 } }).catch((err: unknown) => err);
    expect(isWarrenError(error, 'ERR_INVALID_ARGUMENT')).toBe(true);
    expect((error as { field?: string }).field).toBe('retention.keepLast');
    const typo = await h.update('poll', { retention: { maxAge: '30 days' } }).catch((err: unknown) => err);
    expect((typo as { field?: string }).field).toBe('retention.maxAge');
    // `null` gives the job the scope's default back.
    expect((await h.update('poll', { retention: null })).job.retention).toBeNull();
  });

  it('a bad retention option fails at construction naming it', () => {
    const make = (retention: unknown) => () =>
      createScheduler({ store: new MemoryStore(), scope: 's', role: 'control-only', retention } as never);
    expect(make({ keepLast: 0 })).toThrow(/`retention\.keepLast`/);
    expect(make({ maxAge: '0s' })).toThrow(/`retention\.maxAge`/);
    expect(make({ maxAge: 'soon' })).toThrow(/`retention\.maxAge`/);
    expect(make({ keep: 3 })).toThrow(/keep/);
  });
});

describe('retention on the real services', () => {
  let fx: SchedulerFixture;
  beforeAll(async () => {
    fx = await schedulerFixture('retention');
  });
  afterAll(async () => {
    await fx?.teardown();
  });

  it('the leader prunes a backlog in batches, in one audited pass, and keeps pending runs and the newest one', async () => {
    const job = defineJob({ id: 'hist' });
    const { pool } = await fx.pool('retention-leader');
    const now = Date.now();
    // 300 runs recorded two days ago (finished on insert), one pending from then, one recent.
    await fx.store.syncJob(fx.scope, 'hist', { ...job.config, schedule: null, retention: null } as never, {
      now: new Date(now - 50 * HOUR),
      nextDueAt: null,
    });
    const row = (await fx.store.getJob(fx.scope, 'hist')) as JobRecord;
    const run = (name: string, at: number, status: 'skipped' | 'pending') => ({
      runId: uuidv5(`${fx.scope}|${name}`),
      jobId: 'hist',
      scheduledFor: new Date(at),
      triggerSource: 'backfill' as const,
      params: {},
      epoch: row.epoch,
      status,
      staleAt: null,
      availableAt: new Date(now + 365 * 24 * HOUR),
    });
    for (let i = 0; i < 300; i++)
      await fx.store.insertRuns(fx.scope, [run(`old-${i}`, now - 48 * HOUR + i, 'skipped')], new Date(now - 48 * HOUR + i));
    await fx.store.insertRuns(fx.scope, [run('old-pending', now - 47 * HOUR, 'pending')], new Date(now - 47 * HOUR));
    await fx.store.insertRuns(fx.scope, [run('recent', now - HOUR, 'skipped')], new Date(now - HOUR));

    const scheduler = createScheduler({
      pool,
      schema: fx.schema,
      scope: fx.scope,
      amqpUrl: AMQP_URL,
      jobs: [job],
      instanceId: 'retention-leader',
      retention: { maxAge: '1d', interval: '1s', batchSize: 50 },
    });
    scheduler.on('error', () => {});
    const passes: PruneSummary[] = [];
    scheduler.on('runs:pruned', (summary) => passes.push(summary));
    await scheduler.start();
    try {
      await waitFor(() => passes.length > 0, 'a retention pass');
      expect(passes[0]).toMatchObject({ scope: fx.scope, deleted: 300, jobs: { hist: 300 }, batches: 7, complete: true });
      const left = await fx.runsOf('hist');
      expect(left.map((r) => r.runId).sort()).toEqual([uuidv5(`${fx.scope}|old-pending`), uuidv5(`${fx.scope}|recent`)].sort());
      const audit = (await fx.store.listAudit(fx.scope, { limit: 100 })).filter((e) => e.action === 'prune');
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ jobId: '*', actor: 'retention-leader', details: { deleted: 300, jobs: { hist: 300 }, batches: 7 } });
    } finally {
      await scheduler.close();
    }
  });
});
