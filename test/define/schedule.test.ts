import { describe, expect, it } from 'vitest';
import { isWarrenError } from '../../src/errors.js';
import {
  chainRestartAt,
  nextChainRun,
  nextRun,
  nextRuns,
  periodAt,
  slotsBetween,
  staleAtFor,
  validateSchedule,
} from '../../src/define/schedule.js';
import { resolveSchedule } from '../../src/define/time-zone.js';
import type { JobConfig, NormalizedSchedule } from '../../src/define/types.js';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const cron = (expr: string, tz = 'UTC') => validateSchedule({ cron: expr, tz });

/**
 * DST rules (docs/defining-jobs.md): a fixed-time cron runs once in a repeated hour and at the first
 * valid instant after a spring-forward gap; wildcard crons and `every` follow absolute time.
 * Each row was checked against the tz database offsets by hand.
 */
const DST_TABLE: { name: string; cron: string; tz: string; after: string; expected: string[] }[] = [
  {
    name: 'New York spring-forward: 02:30 does not exist, runs at 03:00 EDT',
    cron: '30 2 * * *',
    tz: 'America/New_York',
    after: '2026-03-07T12:00:00Z',
    expected: ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z'],
  },
  {
    name: 'New York fall-back: 01:30 happens twice, runs once (EDT)',
    cron: '30 1 * * *',
    tz: 'America/New_York',
    after: '2026-10-31T12:00:00Z',
    expected: ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
  },
  {
    name: 'New York fall-back: starting inside the repeated hour does not rerun 01:30',
    cron: '30 1 * * *',
    tz: 'America/New_York',
    after: '2026-11-01T06:10:00Z',
    expected: ['2026-11-02T06:30:00.000Z'],
  },
  {
    name: 'New York hourly wildcard follows absolute time through fall-back (01:00 twice)',
    cron: '0 * * * *',
    tz: 'America/New_York',
    after: '2026-11-01T04:30:00Z',
    expected: ['2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T07:00:00.000Z', '2026-11-01T08:00:00.000Z'],
  },
  {
    name: 'New York */30 through spring-forward: no slot in the gap, still every 30 minutes',
    cron: '*/30 * * * *',
    tz: 'America/New_York',
    after: '2026-03-08T06:00:00Z',
    expected: ['2026-03-08T06:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T07:30:00.000Z'],
  },
  {
    name: 'Berlin */15 through fall-back: every 15 minutes of absolute time, 02:xx twice',
    cron: '*/15 * * * *',
    tz: 'Europe/Berlin',
    after: '2026-10-24T23:50:00Z',
    expected: [
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:15:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T00:45:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:15:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T01:45:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ],
  },
  {
    name: 'Berlin spring-forward: 02:30 runs at 03:00 CEST',
    cron: '30 2 * * *',
    tz: 'Europe/Berlin',
    after: '2026-03-28T12:00:00Z',
    expected: ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z'],
  },
  {
    name: 'Berlin fall-back: 02:30 runs once (CEST)',
    cron: '30 2 * * *',
    tz: 'Europe/Berlin',
    after: '2026-10-24T12:00:00Z',
    expected: ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
  },
  {
    name: 'Seoul has no DST: 09:00 KST every day',
    cron: '0 9 * * *',
    tz: 'Asia/Seoul',
    after: '2026-03-07T12:00:00Z',
    expected: ['2026-03-08T00:00:00.000Z', '2026-03-09T00:00:00.000Z', '2026-03-10T00:00:00.000Z'],
  },
  {
    name: 'Lord Howe spring-forward (30 minutes): 02:00 runs at 02:30 LHDT, the day is not skipped',
    cron: '0 2 * * *',
    tz: 'Australia/Lord_Howe',
    after: '2026-10-03T00:00:00Z',
    expected: ['2026-10-03T15:30:00.000Z', '2026-10-04T15:00:00.000Z'],
  },
  {
    name: 'Lord Howe fall-back (30 minutes): 01:45 runs once',
    cron: '45 1 * * *',
    tz: 'Australia/Lord_Howe',
    after: '2026-04-04T00:00:00Z',
    expected: ['2026-04-04T14:45:00.000Z', '2026-04-05T15:15:00.000Z'],
  },
  {
    name: 'Lord Howe */15 through fall-back: the repeated half hour runs again',
    cron: '*/15 * * * *',
    tz: 'Australia/Lord_Howe',
    after: '2026-04-04T14:00:00Z',
    expected: [
      '2026-04-04T14:15:00.000Z',
      '2026-04-04T14:30:00.000Z',
      '2026-04-04T14:45:00.000Z',
      '2026-04-04T15:00:00.000Z',
      '2026-04-04T15:15:00.000Z',
      '2026-04-04T15:30:00.000Z',
    ],
  },
  {
    name: 'Lord Howe */15 through spring-forward: 02:00 and 02:15 do not exist',
    cron: '*/15 * * * *',
    tz: 'Australia/Lord_Howe',
    after: '2026-10-03T15:00:00Z',
    expected: ['2026-10-03T15:15:00.000Z', '2026-10-03T15:30:00.000Z', '2026-10-03T15:45:00.000Z'],
  },
  {
    name: 'Troll spring-forward (2 hours): 01:30 runs at 03:00 +02',
    cron: '30 1 * * *',
    tz: 'Antarctica/Troll',
    after: '2026-03-28T12:00:00Z',
    expected: ['2026-03-29T01:00:00.000Z', '2026-03-29T23:30:00.000Z'],
  },
  {
    name: 'Troll fall-back (2 hours): 02:30 runs once',
    cron: '30 2 * * *',
    tz: 'Antarctica/Troll',
    after: '2026-10-24T12:00:00Z',
    expected: ['2026-10-25T00:30:00.000Z', '2026-10-26T02:30:00.000Z'],
  },
  {
    name: 'Troll hourly through fall-back: absolute hours',
    cron: '0 * * * *',
    tz: 'Antarctica/Troll',
    after: '2026-10-24T23:30:00Z',
    expected: ['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T03:00:00.000Z'],
  },
  {
    name: 'Troll hourly through spring-forward: 01:00 and 02:00 local do not exist',
    cron: '0 * * * *',
    tz: 'Antarctica/Troll',
    after: '2026-03-29T00:30:00Z',
    expected: ['2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z'],
  },
  {
    name: 'two fixed times in one gap run once at its end',
    cron: '0,30 2 * * *',
    tz: 'America/New_York',
    after: '2026-03-08T05:00:00Z',
    expected: ['2026-03-08T07:00:00.000Z', '2026-03-09T06:00:00.000Z'],
  },
];

describe('nextRuns: DST table', () => {
  it.each(DST_TABLE)('$name', ({ cron: expr, tz, after, expected }) => {
    expect(iso(nextRuns(cron(expr, tz), new Date(after), expected.length))).toEqual(expected);
  });

  it('every instance agrees: starting from any slot yields the rest of the same sequence', () => {
    for (const row of DST_TABLE) {
      const schedule = cron(row.cron, row.tz);
      const all = nextRuns(schedule, new Date(row.after), 12);
      for (let i = 0; i < all.length - 1; i++) {
        const rest = all.slice(i + 1, i + 4);
        expect(iso(nextRuns(schedule, all[i]!, rest.length))).toEqual(iso(rest));
      }
    }
  });
});

describe('nextRuns: properties', () => {
  const schedules: [string, NormalizedSchedule][] = [
    ['*/7 * * * *', cron('*/7 * * * *', 'Europe/Berlin')],
    ['6-field */10 s', cron('*/10 * * * * *', 'America/New_York')],
    ['weekday 09:00 Seoul', cron('0 9 * * 1-5', 'Asia/Seoul')],
    ['Lord Howe 02:15', cron('15 2 * * *', 'Australia/Lord_Howe')],
    ['every 90s', validateSchedule({ every: 90 })],
  ];
  const starts = ['2026-03-08T06:58:20.123Z', '2026-10-25T00:59:59.999Z', '2026-10-03T15:29:00Z', '2026-04-04T14:59:00Z'];

  it.each(schedules)('%s: strictly increasing and strictly after `after`', (_label, schedule) => {
    for (const start of starts) {
      const after = new Date(start);
      const runs = nextRuns(schedule, after, 50);
      expect(runs).toHaveLength(50);
      expect(runs[0]!.getTime()).toBeGreaterThan(after.getTime());
      for (let i = 1; i < runs.length; i++) expect(runs[i]!.getTime()).toBeGreaterThan(runs[i - 1]!.getTime());
      expect(nextRun(schedule, after).toISOString()).toBe(runs[0]!.toISOString());
    }
  });

  it('6-field crons fire on seconds', () => {
    expect(iso(nextRuns(cron('*/20 * * * * *'), new Date('2026-01-01T00:00:05Z'), 4))).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:01:20.000Z',
    ]);
    expect(iso(nextRuns(cron('30 0 9 * * *', 'Asia/Seoul'), new Date('2026-01-01T00:00:30Z'), 1))).toEqual(['2026-01-02T00:00:30.000Z']);
  });

  it('`every` slots are aligned to the epoch, so every instance computes the same ones', () => {
    const every = validateSchedule({ every: '7m' });
    // 2026-01-01T00:00Z is 29,453,760 minutes after the epoch, a multiple of 7.
    expect(iso(nextRuns(every, new Date('2026-01-01T00:00:00Z'), 2))).toEqual(['2026-01-01T00:07:00.000Z', '2026-01-01T00:14:00.000Z']);
    expect(iso(nextRuns(every, new Date('2026-01-01T00:03:21Z'), 1))).toEqual(['2026-01-01T00:07:00.000Z']);
    for (const slot of nextRuns(validateSchedule({ every: 90 }), new Date('2026-05-05T05:05:05.555Z'), 20))
      expect(slot.getTime() % 90_000).toBe(0);
    // DST does not touch absolute time.
    expect(iso(nextRuns(validateSchedule({ every: '1h' }), new Date('2026-03-08T06:30:00Z'), 2))).toEqual([
      '2026-03-08T07:00:00.000Z',
      '2026-03-08T08:00:00.000Z',
    ]);
  });

  it('n <= 0 yields nothing; a cron that matches rarely still resolves', () => {
    expect(nextRuns(cron('* * * * *'), new Date(0), 0)).toEqual([]);
    expect(iso(nextRuns(cron('0 0 29 2 *'), new Date('2026-01-01T00:00:00Z'), 1))).toEqual(['2028-02-29T00:00:00.000Z']);
  });

  it('slotsBetween is (after, until], capped by limit', () => {
    const s = cron('0 * * * *');
    expect(iso(slotsBetween(s, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T03:00:00Z'), 10))).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
      '2026-01-01T03:00:00.000Z',
    ]);
    expect(slotsBetween(s, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-02T00:00:00Z'), 2)).toHaveLength(2);
    expect(slotsBetween(s, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:30:00Z'), 10)).toEqual([]);
  });
});

describe('periodAt, staleAtFor, nextChainRun', () => {
  const base = (schedule: NormalizedSchedule | null, stale: JobConfig['stale']): Pick<JobConfig, 'schedule' | 'stale'> => ({
    schedule,
    stale,
  });

  it('periodAt is the gap to the following slot, DST included', () => {
    expect(periodAt(validateSchedule({ every: '5m' }), new Date('2026-01-01T00:05:00Z'))).toBe(300_000);
    // Friday 09:00 → Monday 09:00.
    expect(periodAt(cron('0 9 * * 1-5', 'Asia/Seoul'), new Date('2026-01-02T00:00:00Z'))).toBe(3 * 86_400_000);
    // Daily 09:00 New York over spring-forward is 23 hours.
    expect(periodAt(cron('0 9 * * *', 'America/New_York'), new Date('2026-03-07T14:00:00Z'))).toBe(23 * 3_600_000);
  });

  it('staleAtFor: period ratio for scheduled slots; adhoc runs only expire under fixed', () => {
    const slot = new Date('2026-01-01T00:05:00Z');
    const every5m = validateSchedule({ every: '5m' });
    expect(staleAtFor(base(every5m, { kind: 'period', ratio: 0.8 }), slot, false)?.toISOString()).toBe('2026-01-01T00:09:00.000Z');
    expect(staleAtFor(base(every5m, { kind: 'period', ratio: 0.8 }), slot, true)).toBeNull();
    expect(staleAtFor(base(null, { kind: 'period', ratio: 0.8 }), slot, false)).toBeNull();
    expect(staleAtFor(base(every5m, { kind: 'fixed', ms: 30_000 }), slot, true)?.toISOString()).toBe('2026-01-01T00:05:30.000Z');
    expect(staleAtFor(base(every5m, { kind: 'fixed', ms: 30_000 }), slot, false)?.toISOString()).toBe('2026-01-01T00:05:30.000Z');
    expect(staleAtFor(base(every5m, { kind: 'never' }), slot, false)).toBeNull();
  });

  it('nextChainRun: `every` waits the period after completion; cron takes the next slot', () => {
    const done = new Date('2026-01-01T00:07:13Z');
    expect(nextChainRun({ schedule: validateSchedule({ every: 600 }) }, done).toISOString()).toBe('2026-01-01T00:17:13.000Z');
    expect(nextChainRun({ schedule: cron('*/5 * * * *') }, done).toISOString()).toBe('2026-01-01T00:10:00.000Z');
    expect(() => nextChainRun({ schedule: null }, done)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    // Friday 08:00:05 Seoul → Monday 08:00 Seoul.
    expect(nextChainRun({ schedule: cron('0 8 * * 1-5', 'Asia/Seoul') }, new Date('2026-01-01T23:00:05Z')).toISOString()).toBe(
      '2026-01-04T23:00:00.000Z',
    );
  });

  it('chainRestartAt: a cron restarts at its next slot, `every` at once', () => {
    const now = new Date('2026-01-03T02:00:00Z'); // Saturday 11:00 Seoul
    expect(chainRestartAt(cron('0 8 * * 1-5', 'Asia/Seoul'), now).toISOString()).toBe('2026-01-04T23:00:00.000Z');
    expect(chainRestartAt(validateSchedule({ every: 600 }), now).toISOString()).toBe(now.toISOString());
  });
});

describe('validateSchedule', () => {
  const fails = (spec: unknown, field: string) => {
    try {
      validateSchedule(spec as never, 'schedule', 'ERR_INVALID_JOB');
    } catch (error) {
      expect(isWarrenError(error, 'ERR_INVALID_JOB')).toBe(true);
      expect((error as Error & { field: string }).field).toBe(field);
      expect((error as Error).message).toContain(`\`${field}\``);
      return;
    }
    throw new Error(`expected ${JSON.stringify(spec)} to be rejected`);
  };

  it('normalises: no tz left to the default zone, canonical tz names, every in ms', () => {
    expect(validateSchedule({ cron: '*/5 * * * *' })).toEqual({ kind: 'cron', cron: '*/5 * * * *' });
    expect(resolveSchedule(validateSchedule({ cron: '*/5 * * * *' }), 'Asia/Seoul')).toEqual({
      kind: 'cron',
      cron: '*/5 * * * *',
      tz: 'Asia/Seoul',
    });
    expect(resolveSchedule(validateSchedule({ cron: '*/5 * * * *', tz: 'Europe/Berlin' }), 'Asia/Seoul')).toEqual({
      kind: 'cron',
      cron: '*/5 * * * *',
      tz: 'Europe/Berlin',
    });
    expect(validateSchedule({ cron: ' 0  9 * * 1-5 ', tz: 'asia/seoul' })).toEqual({ kind: 'cron', cron: '0 9 * * 1-5', tz: 'Asia/Seoul' });
    expect(validateSchedule({ every: '5m' })).toEqual({ kind: 'every', everyMs: 300_000 });
    expect(validateSchedule({ every: 300 })).toEqual({ kind: 'every', everyMs: 300_000 });
  });

  it('rejects bad crons, unknown zones and bad intervals, naming the field', () => {
    fails({ cron: '* * *' }, 'schedule.cron');
    fails({ cron: '* * * * * * *' }, 'schedule.cron');
    fails({ cron: '61 * * * *' }, 'schedule.cron');
    fails({ cron: '0 0 30 2 *' }, 'schedule.cron');
    fails({ cron: 'H * * * *' }, 'schedule.cron');
    fails({ cron: 5 }, 'schedule.cron');
    fails({ cron: '* * * * *', tz: 'Mars/Olympus_Mons' }, 'schedule.tz');
    fails({ every: 0 }, 'schedule.every');
    fails({ every: -60 }, 'schedule.every');
    fails({ every: '0s' }, 'schedule.every');
    fails({ every: '1500ms' }, 'schedule.every');
    fails({ every: 'soon' }, 'schedule.every');
    fails({ every: '5m', cron: '* * * * *' }, 'schedule');
    fails({}, 'schedule');
    fails({ every: '5m', tz: 'UTC' }, 'schedule.tz');
  });
});
