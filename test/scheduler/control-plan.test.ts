import { describe, expect, it } from 'vitest';
import {
  backfillRuns,
  chainSeedSlot,
  manualRun,
  resumeRetiming,
  updateRetiming,
  upsertRetiming,
} from '../../src/scheduler/control-plan.js';
import type { NormalizedSchedule } from '../../src/define/types.js';
import type { JobRecord } from '../../src/store/port.js';
import { slotRunId } from '../../src/util/uuid.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const MIN = 60_000;
const at = (ms: number) => new Date(T0 + ms);
const now = at(90_000);

const everyMinute: NormalizedSchedule = { kind: 'every', everyMs: MIN };
const everyFive: NormalizedSchedule = { kind: 'every', everyMs: 5 * MIN };
const hourly: NormalizedSchedule = { kind: 'cron', cron: '0 * * * *', tz: 'UTC' };

type Timing = Pick<JobRecord, 'schedule' | 'reschedule' | 'enabled' | 'nextDueAt'>;

function timing(overrides: Partial<Timing> = {}): Timing {
  return { schedule: everyMinute, reschedule: 'scheduler', enabled: true, nextDueAt: at(MIN), ...overrides };
}

describe('upsertRetiming', () => {
  it('a new job starts at its next slot after now and seeds its chain (a scheduler-mode seed is a no-op)', () => {
    expect(upsertRetiming(null, timing(), now)).toEqual({ nextDueAt: at(2 * MIN), bumpEpoch: false, seedChain: true });
    expect(upsertRetiming(null, timing({ schedule: null }), now)).toEqual({ nextDueAt: null, bumpEpoch: false, seedChain: true });
  });

  it('a replacement with the same timing keeps its next due instant and its chain', () => {
    const before = timing({ reschedule: 'queue', nextDueAt: at(42) });
    expect(upsertRetiming(before, timing({ reschedule: 'queue' }), now)).toEqual({
      nextDueAt: at(42),
      bumpEpoch: false,
      seedChain: false,
    });
  });

  it('a new schedule re-times; only queue mode (before or after) moves the epoch and reseeds', () => {
    expect(upsertRetiming(timing(), timing({ schedule: everyFive }), now)).toEqual({
      nextDueAt: at(5 * MIN),
      bumpEpoch: false,
      seedChain: false,
    });
    expect(upsertRetiming(timing({ reschedule: 'queue' }), timing({ schedule: everyFive, reschedule: 'queue' }), now)).toEqual({
      nextDueAt: at(5 * MIN),
      bumpEpoch: true,
      seedChain: true,
    });
    expect(upsertRetiming(timing({ reschedule: 'queue' }), timing(), now)).toMatchObject({ bumpEpoch: true, seedChain: true });
    expect(upsertRetiming(timing(), timing({ enabled: false }), now)).toMatchObject({ nextDueAt: at(2 * MIN), bumpEpoch: false });
  });
});

describe('updateRetiming', () => {
  it('a patch that leaves the timing alone re-times nothing and keeps the epoch', () => {
    expect(updateRetiming(timing(), { maxParallel: 3 }, now)).toEqual({ bumpEpoch: false, seedChain: false });
    // The same schedule written again is no change.
    expect(updateRetiming(timing({ reschedule: 'queue' }), { schedule: { ...everyMinute } }, now)).toEqual({
      bumpEpoch: false,
      seedChain: false,
    });
  });

  it('a new schedule re-times to its next slot after now; in scheduler mode the epoch stays', () => {
    expect(updateRetiming(timing(), { schedule: hourly }, now)).toEqual({ nextDueAt: at(60 * MIN), bumpEpoch: false, seedChain: false });
    expect(updateRetiming(timing(), { schedule: null }, now)).toEqual({ nextDueAt: null, bumpEpoch: false, seedChain: false });
  });

  it('in queue mode a new schedule or a mode change moves the epoch and seeds a new chain', () => {
    expect(updateRetiming(timing({ reschedule: 'queue' }), { schedule: everyFive }, now)).toEqual({
      nextDueAt: at(5 * MIN),
      bumpEpoch: true,
      seedChain: true,
    });
    // Leaving queue mode kills the chain; nothing to seed in scheduler mode.
    expect(updateRetiming(timing({ reschedule: 'queue' }), { reschedule: 'scheduler' }, now)).toEqual({
      nextDueAt: at(2 * MIN),
      bumpEpoch: true,
      seedChain: false,
    });
    expect(updateRetiming(timing(), { reschedule: 'queue' }, now)).toEqual({ nextDueAt: at(2 * MIN), bumpEpoch: true, seedChain: true });
  });

  it('enabling re-times and moves the epoch; disabling moves the epoch only', () => {
    expect(updateRetiming(timing({ enabled: false }), { enabled: true }, now)).toEqual({
      nextDueAt: at(2 * MIN),
      bumpEpoch: true,
      seedChain: false,
    });
    expect(updateRetiming(timing({ enabled: false, reschedule: 'queue' }), { enabled: true }, now)).toMatchObject({ seedChain: true });
    expect(updateRetiming(timing({ reschedule: 'queue' }), { enabled: false }, now)).toEqual({ bumpEpoch: true, seedChain: false });
    expect(updateRetiming(timing(), { enabled: true }, now)).toEqual({ bumpEpoch: false, seedChain: false });
  });
});

describe('resumeRetiming', () => {
  it('restarts at the next slot after now; a queue-mode chain at once for `every`, at the next cron slot for a cron', () => {
    expect(resumeRetiming({ schedule: everyMinute, reschedule: 'scheduler' }, now)).toEqual({ nextDueAt: at(2 * MIN), chainAt: null });
    expect(resumeRetiming({ schedule: everyMinute, reschedule: 'queue' }, now)).toEqual({ nextDueAt: at(2 * MIN), chainAt: now });
    expect(resumeRetiming({ schedule: hourly, reschedule: 'queue' }, now)).toEqual({ nextDueAt: at(60 * MIN), chainAt: at(60 * MIN) });
    expect(resumeRetiming({ schedule: null, reschedule: 'queue' }, now)).toEqual({ nextDueAt: null, chainAt: null });
  });
});

describe('chainSeedSlot', () => {
  it('the asked instant, else the next due instant, else the next slot after now', () => {
    expect(chainSeedSlot(everyMinute, at(7), now, at(3))).toEqual(at(3));
    expect(chainSeedSlot(everyMinute, at(7), now)).toEqual(at(7));
    expect(chainSeedSlot(everyMinute, null, now)).toEqual(at(2 * MIN));
  });
});

describe('run placement', () => {
  const job = {
    scope: 'ctl',
    jobId: 'scan',
    epoch: 4,
    schedule: everyMinute,
    params: { mode: 'swing' },
    stale: { kind: 'fixed' as const, ms: 30_000 },
  };

  it('runNow: a manual run at the request instant, available after the delay, stale from then', () => {
    const run = manualRun(job, { runId: 'r-1', params: { mode: 'x' }, delayMs: 10_000, now });
    expect(run).toEqual({
      runId: 'r-1',
      jobId: 'scan',
      scheduledFor: now,
      triggerSource: 'manual',
      params: { mode: 'x' },
      epoch: 4,
      status: 'pending',
      staleAt: at(90_000 + 10_000 + 30_000),
      availableAt: at(90_000 + 10_000),
    });
    // A period-relative staleAfter does not apply to a run nobody scheduled.
    expect(manualRun({ ...job, stale: { kind: 'period', ratio: 0.8 } }, { runId: 'r-2', params: {}, delayMs: 0, now }).staleAt).toBeNull();
  });

  it('backfill: one run per slot with the slot id, available now, stale from now', () => {
    const slots = [at(0), at(MIN)];
    expect(backfillRuns(job, slots, now)).toEqual(
      slots.map((slot) => ({
        runId: slotRunId('ctl', 'scan', slot),
        jobId: 'scan',
        scheduledFor: slot,
        triggerSource: 'backfill',
        params: { mode: 'swing' },
        epoch: 4,
        status: 'pending',
        staleAt: at(90_000 + 30_000),
        availableAt: now,
      })),
    );
  });
});
