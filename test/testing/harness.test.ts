/**
 * The harness as a user writes with it: the real scheduler and worker over the in-memory
 * store and broker, days of fake time in milliseconds.
 */
import { describe, expect, test } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { NonRetryableError } from '../../src/errors.js';
import { createTestHarness, type TestHarness } from '../../src/testing/harness.js';
import { harnessStarter } from './started.js';

const started = harnessStarter();

const iso = (d: Date | null) => d?.toISOString();

describe('schedules over fake time', () => {
  test('a weekday 09:00 Asia/Seoul cron fires on exactly the five weekdays of a week', async () => {
    const report = defineJob({ id: 'morning-report', schedule: { cron: '0 9 * * 1-5', tz: 'Asia/Seoul' } });
    // Sunday 2025-01-05 21:00 in Seoul.
    const h = await started({ jobs: [report], start: '2025-01-05T12:00:00Z' });
    await h.advance('7d');
    const runs = await h.history('morning-report');
    // 09:00 KST is 00:00 UTC, Monday 6th to Friday 10th; nothing on Saturday 11th or Sunday 12th.
    expect(runs.map((r) => iso(r.scheduledFor))).toEqual([
      '2025-01-06T00:00:00.000Z',
      '2025-01-07T00:00:00.000Z',
      '2025-01-08T00:00:00.000Z',
      '2025-01-09T00:00:00.000Z',
      '2025-01-10T00:00:00.000Z',
    ]);
    expect(runs.every((r) => r.status === 'succeeded' && r.triggerSource === 'scheduler' && r.attempt === 1)).toBe(true);
    // Each handler started at its slot: the harness fires every due run before time moves on.
    expect(runs.map((r) => iso(r.startedAt))).toEqual(runs.map((r) => iso(r.scheduledFor)));
  });

  test("every: '5m' over 25 hours fires 300 times", async () => {
    const seen: string[] = [];
    const poll = defineJob({ id: 'poll', schedule: { every: '5m' } });
    const h = await started({
      jobs: [{ definition: poll, handler: (ctx) => void seen.push(ctx.scheduledFor.toISOString()) }],
      start: '2025-01-06T00:00:00Z',
    });
    await h.advance('25h');
    const runs = await h.history('poll');
    expect(runs).toHaveLength(300);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(seen).toHaveLength(300);
    expect(seen[0]).toBe('2025-01-06T00:05:00.000Z');
    expect(seen[299]).toBe('2025-01-07T01:00:00.000Z');
  });

  test('America/New_York fall-back: a 01:30 daily cron runs once on the day 01:30 happens twice', async () => {
    const job = defineJob({ id: 'nightly', schedule: { cron: '30 1 * * *', tz: 'America/New_York' } });
    // 2025-11-02: clocks go back from 02:00 EDT to 01:00 EST.
    const h = await started({ jobs: [job], start: '2025-11-01T12:00:00Z' });
    await h.advance('3d');
    const runs = await h.history('nightly');
    expect(runs.map((r) => iso(r.scheduledFor))).toEqual([
      '2025-11-02T05:30:00.000Z', // 01:30 EDT, the first pass; 01:30 EST (06:30Z) is not run again
      '2025-11-03T06:30:00.000Z', // 01:30 EST
      '2025-11-04T06:30:00.000Z',
    ]);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
  });

  test('America/New_York spring-forward: a 02:30 daily cron runs at 03:00 on the day 02:30 does not exist', async () => {
    const job = defineJob({ id: 'nightly', schedule: { cron: '30 2 * * *', tz: 'America/New_York' } });
    // 2025-03-09: clocks jump from 02:00 EST to 03:00 EDT.
    const h = await started({ jobs: [job], start: '2025-03-08T12:00:00Z' });
    await h.advance('2d');
    const runs = await h.history('nightly');
    expect(runs.map((r) => iso(r.scheduledFor))).toEqual([
      '2025-03-09T07:00:00.000Z', // 03:00 EDT, the first valid instant after the gap
      '2025-03-10T06:30:00.000Z', // 02:30 EDT
    ]);
  });
});

describe('failures and retries', () => {
  test('a job failing twice then succeeding shows attempts 1-3 with the backoff of its policy', async () => {
    const job = defineJob({
      id: 'flaky',
      schedule: { cron: '0 * * * *', tz: 'UTC' },
      retry: { maxAttempts: 3, backoff: { type: 'exponential', delay: '10s', factor: 2, jitter: 0 } },
    });
    const h = await started({ jobs: [job], start: '2025-01-06T00:00:00Z' });
    h.failNext('flaky', 2);
    await h.advance('1h');
    await h.runUntilIdle();
    const [run, ...others] = await h.history('flaky');
    expect(others).toHaveLength(0);
    expect(run).toMatchObject({ status: 'succeeded', attempt: 3, triggerSource: 'scheduler' });
    expect(run!.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(run!.attempts.map((a) => a.status)).toEqual(['failed', 'failed', 'succeeded']);
    expect(run!.attempts[0]!.error).toMatch(/injected failure 1 of 2/);
    // exponential: 10 s after the first failure, 20 s after the second.
    const slot = Date.parse('2025-01-06T01:00:00Z');
    expect(run!.attempts.map((a) => a.startedAt!.getTime() - slot)).toEqual([0, 10_000, 30_000]);
    expect(run!.attempts.slice(0, 2).map((a) => a.retryAt!.getTime() - a.finishedAt!.getTime())).toEqual([10_000, 20_000]);
  });

  test('a NonRetryableError fails the run at once and dead-letters its message', async () => {
    const job = defineJob({ id: 'strict' });
    const h = await started({ jobs: [job] });
    h.failNext('strict', new NonRetryableError('bad input'));
    const triggered = await h.runNow('strict');
    const run = await h.waitFor(triggered.runId);
    expect(run).toMatchObject({ status: 'dead', attempt: 1, triggerSource: 'manual' });
    const dead = h.deadLetters('strict');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ queue: 'test.jobs.strict.dead', runId: triggered.runId });
    expect(dead[0]!.reason).toMatch(/bad input/);
  });

  test('without liveness a worker crash mid-run leaves the run to lease expiry, then it is retried', async () => {
    const job = defineJob({
      id: 'import',
      schedule: { every: '1h' },
      retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '5s', jitter: 0 } },
    });
    let h!: TestHarness;
    const handler = async (ctx: { attempt: number; signal: AbortSignal }) => {
      if (ctx.attempt === 1) await h.clock.sleep(10 * 60_000, ctx.signal); // ten minutes of work
    };
    // test/testing/liveness.test.ts: with liveness (the default) the retry comes within seconds.
    h = await started({
      jobs: [{ definition: job, handler }],
      start: '2025-01-06T00:00:00Z',
      workerOptions: { leaseTtl: '30s', liveness: false },
    });
    await h.advance('1h');
    const [running] = await h.history('import');
    expect(running).toMatchObject({ status: 'running', attempt: 1 });
    const crashedAt = h.now().getTime();
    expect(await h.crashWorker()).toEqual([running!.runId]);

    const run = await h.waitFor(running!.runId);
    expect(run).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(run.attempts[0]!.error).toMatch(/lease/i);
    // Not before the lease (30 s) ran out; within the reaper's tick (1 m) after that.
    const retriedAfter = run.attempts[1]!.startedAt!.getTime() - crashedAt;
    expect(retriedAfter).toBeGreaterThanOrEqual(30_000);
    expect(retriedAfter).toBeLessThanOrEqual(30_000 + 60_000 + 5_000);
    expect(run.attempts[1]!.workerId).not.toBe(run.attempts[0]!.workerId);
  });
});

describe('downtime and catch-up', () => {
  test('downtime across 10 slots honours each catch-up policy', async () => {
    // Catch-up runs are published together; under the default overlap (`skip`, one at a
    // time) the backlog waits for room: `skip` passes over scheduled slots only.
    const jobs = (['none', 'latest', 'all'] as const).map((mode) =>
      defineJob({ id: `sync-${mode}`, schedule: { every: '1m' }, catchup: { mode, window: '1h' } }),
    );
    const h = await started({ jobs, start: '2025-01-06T00:00:00Z' });
    await h.advance('2m30s'); // slots 00:01 and 00:02 run
    // 00:02:30 → 00:12:55: slots 00:03 … 00:12 pass with no scheduler, and even the last
    // is past its stale-after (0.8 × 1m) at restart, so none of them is simply late.
    await h.simulateDowntime('10m25s');
    await h.advance('1m'); // 00:13 runs on time
    await h.runUntilIdle();

    const summary = async (id: string) => {
      const runs = await h.history(id);
      return {
        onTime: runs
          .filter((r) => r.triggerSource === 'scheduler' && r.status === 'succeeded')
          .map((r) => r.scheduledFor.toISOString().slice(11, 16)),
        caughtUp: runs
          .filter((r) => r.triggerSource === 'catchup' && r.status === 'succeeded')
          .map((r) => r.scheduledFor.toISOString().slice(11, 16)),
        missed: runs.filter((r) => r.status === 'missed').map((r) => r.scheduledFor.toISOString().slice(11, 16)),
        other: runs
          .filter((r) => !['succeeded', 'missed'].includes(r.status))
          .map((r) => `${r.status}@${r.scheduledFor.toISOString().slice(11, 16)}`),
      };
    };
    const down = ['00:03', '00:04', '00:05', '00:06', '00:07', '00:08', '00:09', '00:10', '00:11', '00:12'];
    expect(await summary('sync-none')).toEqual({ onTime: ['00:01', '00:02', '00:13'], caughtUp: [], missed: down, other: [] });
    expect(await summary('sync-latest')).toEqual({
      onTime: ['00:01', '00:02', '00:13'],
      caughtUp: ['00:12'],
      missed: down.slice(0, 9),
      other: [],
    });
    expect(await summary('sync-all')).toEqual({ onTime: ['00:01', '00:02', '00:13'], caughtUp: down, missed: [], other: [] });
  });
});

describe('leadership', () => {
  test('two schedulers: one leads; when it loses the lease the slots go on, once each', async () => {
    const job = defineJob({ id: 'beat', schedule: { every: '1m' } });
    const h = await started({ jobs: [job], schedulers: 2, workers: 2, start: '2025-01-06T00:00:00Z' });
    expect(h.instances().schedulers.filter((s) => s.leader)).toHaveLength(1);
    await h.advance('10m');
    const lost = await h.loseLeadership();
    expect(lost).toBeGreaterThanOrEqual(0);
    await h.advance('20m');
    expect(h.instances().schedulers.filter((s) => s.leader)).toHaveLength(1);
    const runs = await h.history('beat');
    const slots = runs.map((r) => r.scheduledFor.getTime());
    expect(new Set(slots).size).toBe(slots.length);
    // Every minute slot up to now has a row, run or recorded with its reason.
    const last = Date.parse('2025-01-06T00:00:00Z') + slots.length * 60_000;
    expect(h.now().getTime() - last).toBeLessThan(60_000);
    expect(runs.filter((r) => r.status === 'succeeded').length).toBeGreaterThanOrEqual(runs.length - 2);
  });

  test('without liveness a crashed leader is replaced once its lease expires', async () => {
    const job = defineJob({ id: 'beat', schedule: { every: '1m' } });
    const h = await started({ jobs: [job], schedulers: 2, start: '2025-01-06T00:00:00Z', schedulerOptions: { liveness: false } });
    const before = h.leader();
    await h.crashScheduler(before, { restart: false });
    expect(h.leader()).toBe(-1);
    await h.advance('6m'); // the harness's lease is 5 minutes
    expect(h.leader()).not.toBe(-1);
    expect(h.leader()).not.toBe(before);
  });
});

describe('control API', () => {
  test('pause stops new runs, runNow while paused runs once, resume restarts the schedule; all audited', async () => {
    const job = defineJob({ id: 'report', schedule: { every: '10m' } });
    const h = await started({ jobs: [job], start: '2025-01-06T00:00:00Z' });
    await h.advance('30m'); // 00:10, 00:20, 00:30
    await h.pause('report', { note: 'maintenance' });
    expect((await h.get('report')).enabled).toBe(false);
    await h.advance('30m'); // nothing
    const manual = await h.runNow('report');
    await h.waitFor(manual.runId);
    await h.resume('report');
    await h.advance('30m');

    const runs = await h.history('report');
    expect(runs.filter((r) => r.triggerSource === 'scheduler').map((r) => r.scheduledFor.toISOString().slice(11, 16))).toEqual([
      '00:10',
      '00:20',
      '00:30',
      '01:10',
      '01:20',
      '01:30',
    ]);
    expect(runs.filter((r) => r.triggerSource === 'manual')).toHaveLength(1);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect((await h.audit({ jobId: 'report' })).map((a) => a.action)).toEqual(expect.arrayContaining(['pause', 'run-now', 'resume']));
  });

  test('update changes the period without a restart', async () => {
    const job = defineJob({ id: 'report', schedule: { every: '10m' } });
    const h = await started({ jobs: [job], start: '2025-01-06T00:00:00Z' });
    await h.advance('20m');
    await h.update('report', { schedule: { every: '30m' } });
    await h.advance('1h');
    const times = (await h.history('report')).map((r) => r.scheduledFor.toISOString().slice(11, 16));
    expect(times).toEqual(['00:10', '00:20', '00:30', '01:00']);
  });
});

describe('harness ergonomics', () => {
  test('handlers get params and context; waitFor(predicate) advances until it holds', async () => {
    const calls: Array<{ action: unknown; source: string }> = [];
    const start = defineJob({
      id: 'monitor-start',
      queue: 'price-monitor',
      schedule: { cron: '0 9 * * 1-5', tz: 'Asia/Seoul' },
      defaultParams: { action: 'start' },
    });
    const stop = defineJob({
      id: 'monitor-stop',
      queue: 'price-monitor',
      schedule: { cron: '30 15 * * 1-5', tz: 'Asia/Seoul' },
      defaultParams: { action: 'stop' },
    });
    const handler = (ctx: { params: Record<string, unknown>; triggerSource: string }) =>
      void calls.push({ action: ctx.params.action, source: ctx.triggerSource });
    const h = await started({
      jobs: [start, stop],
      handlers: { 'monitor-start': handler, 'monitor-stop': handler },
      start: '2025-01-05T12:00:00Z',
    });
    const found = await h.waitFor(async () => (await h.history('monitor-stop')).find((r) => r.status === 'succeeded'), { timeout: '2d' });
    expect(found.scheduledFor.toISOString()).toBe('2025-01-06T06:30:00.000Z');
    expect(calls).toEqual([
      { action: 'start', source: 'scheduler' },
      { action: 'stop', source: 'scheduler' },
    ]);
  });

  test('handlers may be given as [{ definition, handler }]', async () => {
    const job = defineJob({ id: 'pair', schedule: { every: '1h' } });
    const seen: number[] = [];
    const h = await started({ jobs: [], handlers: [{ definition: job, handler: (ctx) => void seen.push(ctx.attempt) }] });
    await h.advance('3h');
    expect(seen).toEqual([1, 1, 1]);
  });

  test('waitFor gives up with ERR_TIMEOUT after its fake-time bound', async () => {
    const h = await started({ jobs: [defineJob({ id: 'idle' })] });
    await expect(h.waitFor(() => false, { timeout: '1h' })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(h.now().toISOString()).toBe('2025-01-06T01:00:00.000Z');
  });

  test('bad options fail with the field named', () => {
    expect(() => createTestHarness({ jobs: [], workers: -1 })).toThrow(/harness option `workers`/);
    expect(() => createTestHarness({ jobs: [], handlers: { nope: () => {} } })).toThrow(/handlers\.nope/);
    expect(() => createTestHarness({ jobs: [], start: 'not a date' })).toThrow(/`start`/);
  });
});
