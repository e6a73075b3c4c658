/**
 * The seed's job-registration bodies (§10), posted verbatim to the control API of a
 * scheduler of their scope, on the fake clock: a cron is a cron in both modes, and a body
 * without `tz` takes the scheduler's `timezone` (this fleet trades on the Seoul exchange).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { slotsBetween } from '../../src/define/schedule.js';
import type { JobHandler } from '../../src/define/types.js';
import { isWarrenError } from '../../src/errors.js';
import { createScheduler } from '../../src/scheduler/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { createTestHarness, type TestHarness } from '../../src/testing/harness.js';
import { createWorker } from '../../src/worker/index.js';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { rejects } from '../helpers/rejects.js';
import { MOCK_BODIES, REAL_BODIES } from '../helpers/seed-bodies.js';

const SEOUL = 'Asia/Seoul';
/** Sunday 2025-01-05 00:00 in Seoul. */
const SUNDAY = '2025-01-04T15:00:00.000Z';
const iso = (d: Date | null | undefined) => d?.toISOString();

const open: TestHarness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

/** The seed's queue names: its workers take whole queues (`RabbitMQWorker(queue=…)`), not jobs. */
const QUEUES = ['buy-scanner', 'news-crawler', 'price-monitor', 'scout'];

async function harness(
  scope: 'real' | 'mock',
  options: { timezone?: string; workers?: number; handler?: JobHandler<unknown> } = {},
): Promise<TestHarness> {
  const handler = options.handler ?? (() => {});
  const h = createTestHarness({
    scope,
    start: SUNDAY,
    queues: Object.fromEntries(QUEUES.map((queue) => [queue, handler])),
    workers: options.workers ?? 1,
    schedulerOptions: options.timezone === undefined ? {} : { timezone: options.timezone },
  });
  open.push(h);
  await h.start();
  return h;
}

describe('scout-daily (§10.1) on a scheduler in Asia/Seoul', () => {
  it('runs five times over a week that starts on a Sunday: Monday to Friday at 08:00 Seoul time', async () => {
    const seen: string[] = [];
    const h = await harness('real', { timezone: SEOUL, handler: (ctx) => void seen.push(iso(ctx.scheduledFor)!) });
    const created = await h.upsert(REAL_BODIES[4]);
    // GET /jobs shows the zone the job runs in; the chain is seeded at the first slot.
    expect(created.schedule).toEqual({ kind: 'cron', cron: '0 8 * * 1-5', tz: SEOUL });
    expect(iso(created.nextDueAt)).toBe('2025-01-05T23:00:00.000Z');
    expect((await h.list()).find((j) => j.id === 'scout-daily')?.schedule).toEqual({ kind: 'cron', cron: '0 8 * * 1-5', tz: SEOUL });
    expect(created.job.stale).toEqual({ kind: 'fixed', ms: 0.8 * 86_400_000 });

    await h.advance('7d');
    const runs = await h.history('scout-daily');
    // 08:00 KST is 23:00 UTC the day before: Monday 6th to Friday 10th, then the pending link for Monday 13th.
    const weekdays = [
      '2025-01-05T23:00:00.000Z',
      '2025-01-06T23:00:00.000Z',
      '2025-01-07T23:00:00.000Z',
      '2025-01-08T23:00:00.000Z',
      '2025-01-09T23:00:00.000Z',
    ];
    expect(runs.map((r) => [iso(r.scheduledFor), r.status, r.triggerSource])).toEqual([
      [weekdays[0], 'succeeded', 'scheduler'],
      ...weekdays.slice(1).map((at) => [at, 'succeeded', 'chain']),
      ['2025-01-12T23:00:00.000Z', 'pending', 'chain'],
    ]);
    expect(seen).toEqual(weekdays);
    expect(runs.slice(0, 5).map((r) => iso(r.startedAt))).toEqual(weekdays);
  });

  it('without a timezone option the same body runs at 08:00 UTC', async () => {
    const h = await harness('real');
    const created = await h.upsert(REAL_BODIES[4]);
    expect(created.schedule).toEqual({ kind: 'cron', cron: '0 8 * * 1-5', tz: 'UTC' });
    await h.advance('2d');
    expect((await h.history('scout-daily')).map((r) => iso(r.startedAt))).toEqual(['2025-01-06T08:00:00.000Z', undefined]);
  });

  it('pause and resume keep one chain, resumed at the next cron slot rather than at once', async () => {
    const h = await harness('real', { timezone: SEOUL });
    await h.upsert(REAL_BODIES[4]);
    await h.advanceTo('2025-01-07T01:00:00Z'); // Tuesday 10:00 Seoul: Monday and Tuesday ran
    await h.pause('scout-daily', { note: 'holiday' });
    await h.advanceTo('2025-01-08T03:00:00Z'); // Wednesday 12:00 Seoul: Wednesday's slot passed while paused
    const resumed = await h.resume('scout-daily');
    expect(iso(resumed.nextDueAt)).toBe('2025-01-08T23:00:00.000Z'); // Thursday 08:00 Seoul
    await h.advanceTo('2025-01-10T03:00:00Z'); // Friday 12:00 Seoul
    const runs = await h.history('scout-daily');
    expect(runs.filter((r) => r.status === 'succeeded').map((r) => iso(r.startedAt))).toEqual([
      '2025-01-05T23:00:00.000Z',
      '2025-01-06T23:00:00.000Z',
      '2025-01-08T23:00:00.000Z',
      '2025-01-09T23:00:00.000Z',
    ]);
    // The paused chain's link (Wednesday) died with its epoch; one live link remains.
    expect(runs.filter((r) => r.status === 'cancelled').map((r) => iso(r.scheduledFor))).toEqual(['2025-01-07T23:00:00.000Z']);
    expect(runs.filter((r) => r.status === 'pending').map((r) => iso(r.scheduledFor))).toEqual(['2025-01-12T23:00:00.000Z']);
  });

  it('a chain whose link expired while the workers were down restarts at the next cron slot', async () => {
    const h = await harness('real', { timezone: SEOUL });
    await h.upsert(REAL_BODIES[4]);
    // Down from Sunday 12:00 to Tuesday 12:00 Seoul: Monday's link is past its TTL (0.8 × 24 h).
    await h.advanceTo('2025-01-05T03:00:00Z');
    await h.simulateDowntime('48h', { workers: true });
    await h.advanceTo('2025-01-09T03:00:00Z'); // Thursday 12:00 Seoul
    const runs = await h.history('scout-daily');
    expect(runs.map((r) => [iso(r.scheduledFor), r.status])).toEqual([
      ['2025-01-05T23:00:00.000Z', 'expired'],
      // Reseeded at Wednesday 08:00, not at the moment the chain was found broken.
      ['2025-01-07T23:00:00.000Z', 'succeeded'],
      ['2025-01-08T23:00:00.000Z', 'succeeded'],
      ['2025-01-09T23:00:00.000Z', 'pending'],
    ]);
  });
});

describe('every §10 body, posted verbatim to a scheduler of its scope', () => {
  const cases = [
    ...REAL_BODIES.map((body) => ['real', body.job_id, body] as const),
    ...MOCK_BODIES.map((body) => ['mock', body.job_id, body] as const),
  ];

  it.each(cases)('%s: %s is stored with its cron in the default zone, seeded at its first slot', async (scope, _id, body) => {
    const h = await harness(scope, { timezone: SEOUL, workers: 0 });
    const details = await h.upsert(body);
    const schedule = { kind: 'cron', cron: body.cron_expr, tz: SEOUL } as const;
    const [first] = slotsBetween(schedule, new Date(SUNDAY), new Date('2025-01-12T15:00:00Z'), 1);
    expect(details.job).toMatchObject({
      scope,
      jobId: body.job_id,
      queue: body.queue.split('.jobs.')[1],
      schedule,
      reschedule: 'queue',
      enabled: true,
      params: 'default_params' in body ? body.default_params : {},
      description: 'description' in body ? body.description : null,
      // interval_seconds is the period: the seed's TTL of 0.8 × it; without one, 0.8 × the cron's gap.
      stale: 'interval_seconds' in body ? { kind: 'fixed', ms: 800 * body.interval_seconds } : { kind: 'period', ratio: 0.8 },
    });
    expect(iso(details.nextDueAt)).toBe(iso(first));
    const runs = await h.history(body.job_id);
    expect(runs.map((r) => [iso(r.scheduledFor), r.status, r.triggerSource])).toEqual([[iso(first), 'pending', 'scheduler']]);
  });

  it.each([
    ['real', MOCK_BODIES],
    ['mock', REAL_BODIES],
  ] as const)('a %s scheduler refuses every body of the other scope, naming both scopes, and stores nothing', async (scope, bodies) => {
    const h = await harness(scope, { timezone: SEOUL, workers: 0 });
    for (const body of bodies) {
      const error = await rejects(h.upsert(body));
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'scope' });
      expect(error.message).toContain(`"${scope}"`);
      expect(error.message).toContain(`"${scope === 'real' ? 'mock' : 'real'}"`);
    }
    expect(await h.list()).toEqual([]);
  });

  it.each([
    ['an unknown tz', 'tz', { ...REAL_BODIES[4], tz: 'Asia/Soul' }],
    ['a tz beside an interval without a cron', 'tz', { job_id: 'scout', queue: 'real.jobs.scout', interval_seconds: 86400, tz: SEOUL }],
    ['a tz with no schedule', 'tz', { job_id: 'scout', queue: 'real.jobs.scout', tz: SEOUL }],
    ['an interval of 0 beside a cron', 'interval_seconds', { ...REAL_BODIES[4], interval_seconds: 0 }],
    ['a bad cron', 'cron_expr', { ...REAL_BODIES[4], cron_expr: '0 8 * *' }],
  ])('refuses %s with ERR_INVALID_JOB naming `%s`, and stores nothing', async (_name, field, body) => {
    const h = await harness('real', { timezone: SEOUL, workers: 0 });
    expect(await rejects(h.upsert(body))).toMatchObject({ code: 'ERR_INVALID_JOB', field });
    expect(await h.list()).toEqual([]);
  });
});

describe('the `timezone` option', () => {
  it('is used for code definitions without tz, by the scheduler and by workers alike', async () => {
    const morning = defineJob({ id: 'morning', schedule: { cron: '0 9 * * 1-5' }, reschedule: 'queue' });
    const berlin = defineJob({ id: 'berlin', schedule: { cron: '0 9 * * 1-5', tz: 'Europe/Berlin' } });
    const h = createTestHarness({ scope: 'real', start: SUNDAY, jobs: [morning, berlin], schedulerOptions: { timezone: SEOUL } });
    open.push(h);
    await h.start();
    expect((await h.get('morning')).schedule).toEqual({ kind: 'cron', cron: '0 9 * * 1-5', tz: SEOUL });
    expect((await h.get('berlin')).schedule).toEqual({ kind: 'cron', cron: '0 9 * * 1-5', tz: 'Europe/Berlin' });
    // A new cron without tz through the control API gets it too; a cron patch keeps the job's.
    expect((await h.update('berlin', { schedule: { cron: '0 10 * * *' } })).schedule).toEqual({
      kind: 'cron',
      cron: '0 10 * * *',
      tz: SEOUL,
    });
    expect((await h.update('morning', { cron_expr: '0 10 * * *' })).schedule).toEqual({ kind: 'cron', cron: '0 10 * * *', tz: SEOUL });
  });

  it('a worker syncing a definition writes its own `timezone`', async () => {
    const store = new MemoryStore();
    const transport = new MemoryTransport();
    const morning = defineJob({ id: 'morning', schedule: { cron: '0 9 * * 1-5' } });
    const worker = createWorker({
      store,
      transport,
      scope: 'real',
      timezone: 'asia/seoul',
      jobs: [{ definition: morning, handler: () => {} }],
    });
    await worker.start();
    await worker.close();
    expect((await store.getJob('real', 'morning'))?.schedule).toEqual({ kind: 'cron', cron: '0 9 * * 1-5', tz: SEOUL });
    await transport.close();
    await store.close();
  });

  it.each([
    ['an unknown zone', 'Asia/Soul'],
    ['an empty string', ''],
    ['a number', 9],
  ])('rejects %s with ERR_INVALID_OPTION naming `timezone`', (_name, timezone) => {
    const store = new MemoryStore();
    const transport = new MemoryTransport();
    const options = { store, transport, scope: 'real', timezone };
    for (const create of [() => createScheduler(options as never), () => createWorker(options as never)]) {
      let error: unknown;
      try {
        create();
      } catch (e) {
        error = e;
      }
      expect(isWarrenError(error, 'ERR_INVALID_OPTION')).toBe(true);
      expect((error as { field?: string }).field).toBe('timezone');
      expect((error as Error).message).toContain('IANA time zone');
    }
  });
});
