/**
 * What a control action decides, as pure functions of (job row, change, now), beside the
 * tick's planSlots: which change re-times a job, when its epoch moves (so a queue-mode chain
 * of the old timing dies instead of doubling), and where a manual or backfilled run is
 * placed. ControlApi reads the row, asks here, and writes what was decided.
 */
import { chainRestartAt, nextRun, staleAtFor } from '../define/schedule.js';
import type { JobConfig, NormalizedSchedule } from '../define/types.js';
import type { JobRecord, NewRun } from '../store/port.js';
import { slotRunId } from '../util/uuid.js';

/** What an upsert or update writes beside the config, and whether a chain is (re)seeded. */
export interface Retiming {
  /** The job's next due instant; absent: left as it is. */
  nextDueAt?: Date | null;
  /** Move the epoch: runs (a chain link) made under the old timing are cancelled at their claim. */
  bumpEpoch: boolean;
  /** Seed a queue-mode chain of the (new) epoch once written. */
  seedChain: boolean;
}

type Timing = Pick<JobConfig, 'schedule' | 'reschedule' | 'enabled'>;

export function sameSchedule(a: NormalizedSchedule | null, b: NormalizedSchedule | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function firstDue(config: Timing, now: Date): Date | null {
  return config.schedule ? nextRun(config.schedule, now) : null;
}

/**
 * Create or replace (`before` null: create). A replacement with the same schedule, mode and
 * enabled keeps its next due instant; any other starts at the new schedule's next slot, and
 * when queue mode is involved (before or after) the old chain dies and a new one is seeded.
 */
export function upsertRetiming(
  before: (Timing & Pick<JobRecord, 'nextDueAt'>) | null,
  config: Timing,
  now: Date,
): Retiming & { nextDueAt: Date | null } {
  if (before === null) return { nextDueAt: firstDue(config, now), bumpEpoch: false, seedChain: true };
  const same =
    sameSchedule(before.schedule, config.schedule) && before.reschedule === config.reschedule && before.enabled === config.enabled;
  if (same) return { nextDueAt: before.nextDueAt, bumpEpoch: false, seedChain: false };
  const queueMode = before.reschedule === 'queue' || config.reschedule === 'queue';
  return { nextDueAt: firstDue(config, now), bumpEpoch: queueMode, seedChain: queueMode };
}

/**
 * A patch at run time. A new schedule or mode, or enabling, re-times the job to the next slot
 * after now. The epoch moves when enabled changes (as pause/resume) and, in queue mode (before
 * or after), when the schedule or mode changes; an enabled queue-mode job whose epoch moved
 * gets a fresh chain.
 */
export function updateRetiming(current: Timing, changes: Partial<JobConfig>, now: Date): Retiming {
  const next: Timing = { ...current, ...changes };
  const scheduleChanged = 'schedule' in changes && !sameSchedule(current.schedule, next.schedule);
  const modeChanged = 'reschedule' in changes && current.reschedule !== next.reschedule;
  const enabledChanged = 'enabled' in changes && current.enabled !== next.enabled;
  const queueMode = current.reschedule === 'queue' || next.reschedule === 'queue';
  const bumpEpoch = (queueMode && (scheduleChanged || modeChanged)) || enabledChanged;
  const retiming: Retiming = { bumpEpoch, seedChain: bumpEpoch && next.enabled && next.reschedule === 'queue' };
  if (scheduleChanged || modeChanged || (enabledChanged && next.enabled)) retiming.nextDueAt = firstDue(next, now);
  return retiming;
}

/**
 * Why a slot the leader claimed ahead (docs/scheduler.md, `lookAhead`) must not run after a
 * change from `before` to `next`: paused, or a new schedule or mode; `null` when it may run.
 */
export function claimedAheadReason(before: Timing, next: Timing): string | null {
  if (before.enabled && !next.enabled) return 'job paused before its slot';
  if (!sameSchedule(before.schedule, next.schedule) || before.reschedule !== next.reschedule) return 'schedule changed before its slot';
  return null;
}

/**
 * Resume: the next slot after now; a queue-mode job gets one fresh chain run, at the next
 * cron slot or at once for `every` (fixed delay).
 */
export function resumeRetiming(
  job: Pick<JobRecord, 'schedule' | 'reschedule'>,
  now: Date,
): { nextDueAt: Date | null; chainAt: Date | null } {
  if (job.schedule === null) return { nextDueAt: null, chainAt: null };
  return { nextDueAt: nextRun(job.schedule, now), chainAt: job.reschedule === 'queue' ? chainRestartAt(job.schedule, now) : null };
}

/** The slot a control action seeds a queue-mode chain at: `at`, else the job's next due instant, else its next slot. */
export function chainSeedSlot(schedule: NormalizedSchedule, nextDueAt: Date | null, now: Date, at?: Date): Date {
  return at ?? nextDueAt ?? nextRun(schedule, now);
}

type PlacedJob = Pick<JobRecord, 'jobId' | 'epoch' | 'stale' | 'schedule'>;

/**
 * runNow: one run available `delayMs` after now, even while paused. A manual run is not a
 * slot: its id is random (the caller's), `scheduled_for` is the request's instant, and
 * (scope, job_id, scheduled_for) is unique for every other trigger only (migration 2), so
 * concurrent calls never conflict and a run requested at a slot's instant leaves the slot to
 * the schedule. Only a fixed staleAfter applies, from when it becomes available.
 */
export function manualRun(job: PlacedJob, run: { runId: string; params: Record<string, unknown>; delayMs: number; now: Date }): NewRun {
  const availableAt = new Date(run.now.getTime() + run.delayMs);
  return {
    runId: run.runId,
    jobId: job.jobId,
    scheduledFor: run.now,
    triggerSource: 'manual',
    params: run.params,
    epoch: job.epoch,
    status: 'pending',
    staleAt: staleAtFor(job, availableAt, true),
    availableAt,
  };
}

/**
 * backfill: one run per slot, with the slot's deterministic id (a slot that already ran, or a
 * second identical call, creates nothing), available now. A backfilled slot is old by
 * definition: only a fixed staleAfter applies, from now.
 */
export function backfillRuns(job: PlacedJob & Pick<JobRecord, 'scope' | 'params'>, slots: readonly Date[], now: Date): NewRun[] {
  return slots.map((slot) => ({
    runId: slotRunId(job.scope, job.jobId, slot),
    jobId: job.jobId,
    scheduledFor: slot,
    triggerSource: 'backfill',
    params: job.params,
    epoch: job.epoch,
    status: 'pending',
    staleAt: staleAtFor(job, now, true),
    availableAt: now,
  }));
}
