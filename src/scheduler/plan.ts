/**
 * What a due job's slots become: a pure function of (job row, now, cluster counts), so the
 * catch-up and overlap rules are tested on fixed instants and every leader decides alike.
 */
import { nextRun, slotsBetween, staleAtFor } from '../define/schedule.js';
import type { TriggerSource } from '../define/types.js';
import { overlapSkipReason } from '../store/decide.js';
import type { JobRecord, NewRun, SlotClaim } from '../store/port.js';
import { slotRunId } from '../util/uuid.js';

export interface PlanCounts {
  /** Running runs of the job with a live lease, cluster-wide. */
  running: number;
  /** Pending runs of the job (only consulted by `bufferOne`). */
  pending: number;
}

export interface SlotPlan {
  claim: SlotClaim;
  /** More past slots remain after this batch (a long downtime): tick again at once. */
  more: boolean;
}

/**
 * The slot grid of one (schedule, next_due_at) pair: the slots in [next_due_at, now] (at
 * most the cap) and the slot after them. Cron math is the costly part of planning (about a
 * millisecond per job: cron-parser and Intl offsets), and a burst of due jobs mostly shares
 * a schedule and a due instant, so the leader computes each grid once per tick.
 */
export interface SlotGrid {
  slots: readonly Date[];
  following: Date;
}

/** A per-tick memo of slot grids (pass a fresh Map each tick: the key assumes one `now` and cap). */
export type SlotGridCache = Map<string, SlotGrid>;

function gridKey(schedule: NonNullable<JobRecord['schedule']>, first: Date): string {
  return schedule.kind === 'every'
    ? `every:${schedule.everyMs}:${first.getTime()}`
    : `cron:${schedule.tz}:${schedule.cron}:${first.getTime()}`;
}

function slotGrid(schedule: NonNullable<JobRecord['schedule']>, first: Date, now: Date, cap: number, cache?: SlotGridCache): SlotGrid {
  const key = cache ? gridKey(schedule, first) : '';
  const hit = cache?.get(key);
  if (hit) return hit;
  // next_due_at is the first unclaimed slot, whether or not it lies on the current grid
  // (a control action may have set it).
  // The common case, one slot due, asks the schedule one question: the slot after `first`.
  const second = nextRun(schedule, first);
  const slots = second.getTime() > now.getTime() || cap === 1 ? [first] : [first, second, ...slotsBetween(schedule, second, now, cap - 2)];
  const grid = { slots, following: slots.length === 1 ? second : nextRun(schedule, slots[slots.length - 1]!) };
  cache?.set(key, grid);
  return grid;
}

type PlanJob = Pick<
  JobRecord,
  'scope' | 'jobId' | 'schedule' | 'nextDueAt' | 'catchup' | 'stale' | 'overlap' | 'maxParallel' | 'params' | 'epoch'
>;

interface Decision {
  slot: Date;
  run: boolean;
  trigger: TriggerSource;
  reason: string | null;
}

/**
 * Plans the slots in [next_due_at, now] of a scheduler-mode job, at most `limit` of them
 * (oldest first), as one {@link SlotClaim}. Returns null when nothing is due.
 *
 * A slot is *on time* when it is the latest slot <= now and its stale-after deadline has
 * not passed (with `staleAfter: null`, when it is the only slot in the range): it runs with
 * trigger `scheduler` under every catch-up mode. The other (older or stale) slots follow
 * the catch-up mode: `none` records them `missed`; `latest` runs the latest of them if it
 * lies within the window (trigger `catchup`) and records the rest `missed`; `all` runs the
 * oldest `max` of those within the window (`catchup`) and records the rest `missed`.
 * A catch-up run's stale deadline is shifted to start now, so it is not expired on arrival.
 * Then overlap: with `running >= maxParallel`, `skip` records the runs `skipped`,
 * `bufferOne` keeps one pending run at most, the other policies insert them pending.
 */
export function planSlots(job: PlanJob, now: Date, counts: PlanCounts, limit = 500, grids?: SlotGridCache): SlotPlan | null {
  const first = job.nextDueAt;
  if (first === null || first.getTime() > now.getTime()) return null;
  const schedule = job.schedule;
  if (schedule === null) {
    // An on-demand job (its schedule was removed): nothing is due any more.
    return { claim: { jobId: job.jobId, expectedNextDueAt: first, nextDueAt: null, runs: [] }, more: false };
  }
  const cap = Math.max(1, limit);
  const grid = slotGrid(schedule, first, now, cap, grids);
  // Copies: the runs of jobs that share a grid must not share Date objects.
  const slots = grid.slots.map((slot) => new Date(slot));
  const following = new Date(grid.following);
  const more = following.getTime() <= now.getTime();
  const nowMs = now.getTime();
  const windowStart = nowMs - job.catchup.windowMs;

  // A cron job's period-relative stale deadline needs the slot after each slot: for the first
  // and the last slot it is already known (the same next-slot question the grid answered).
  const staleOf = (slot: Date, index: number): Date | null => {
    const next = index === slots.length - 1 ? following : index === 0 ? slots[1] : undefined;
    if (job.stale.kind !== 'period' || schedule.kind !== 'cron' || next === undefined) return staleAtFor(job, slot, false);
    return new Date(slot.getTime() + Math.round(job.stale.ratio * (next.getTime() - slot.getTime())));
  };
  const onTime = (slot: Date, index: number): boolean => {
    if (more || index !== slots.length - 1) return false;
    const staleAt = staleOf(slot, index);
    return staleAt === null ? slots.length === 1 : nowMs < staleAt.getTime();
  };

  const decisions: Decision[] = [];
  const late: number[] = [];
  slots.forEach((slot, index) => {
    if (onTime(slot, index)) decisions.push({ slot, run: true, trigger: 'scheduler', reason: null });
    else {
      late.push(decisions.length);
      decisions.push({ slot, run: false, trigger: 'catchup', reason: null });
    }
  });
  const mode = job.catchup.mode;
  const inWindow = (d: Decision) => d.slot.getTime() >= windowStart;
  if (mode === 'latest' && !more) {
    const latest = late[late.length - 1];
    if (latest !== undefined && latest === slots.length - 1 && inWindow(decisions[latest]!)) decisions[latest]!.run = true;
  } else if (mode === 'all') {
    let budget = job.catchup.max;
    for (const index of late) {
      const d = decisions[index]!;
      if (budget > 0 && inWindow(d)) {
        d.run = true;
        budget -= 1;
      }
    }
  }
  for (const index of late) {
    const d = decisions[index]!;
    if (d.run) continue;
    d.reason =
      !inWindow(d) && mode !== 'none'
        ? `catch-up ${mode}: outside the catch-up window`
        : mode === 'none'
          ? 'catch-up none: the slot passed while no scheduler was leading'
          : mode === 'latest'
            ? 'catch-up latest: superseded by a later slot'
            : `catch-up all: over the limit of ${job.catchup.max} catch-up runs`;
  }

  // Overlap, counted cluster-wide from running runs with live leases.
  const atLimit = counts.running >= job.maxParallel;
  let pendingLeft = job.overlap === 'bufferOne' ? Math.max(0, 1 - counts.pending) : Number.POSITIVE_INFINITY;
  const runs: NewRun[] = decisions.map((d, index) => {
    const base = {
      runId: slotRunId(job.scope, job.jobId, d.slot),
      jobId: job.jobId,
      scheduledFor: d.slot,
      params: job.params,
      epoch: job.epoch,
    };
    if (!d.run) {
      return { ...base, triggerSource: d.trigger, status: 'missed', staleAt: null, availableAt: d.slot, error: d.reason };
    }
    // `skip` passes over scheduled slots only; a catch-up run waits for room, as at claim time.
    if (atLimit && ((job.overlap === 'skip' && d.trigger === 'scheduler') || (job.overlap === 'bufferOne' && pendingLeft <= 0))) {
      return {
        ...base,
        triggerSource: d.trigger,
        status: 'skipped',
        staleAt: null,
        availableAt: d.slot,
        error:
          job.overlap === 'skip'
            ? overlapSkipReason(counts.running, job.maxParallel)
            : `overlap bufferOne: a run is already waiting (${counts.running} running, maxParallel ${job.maxParallel})`,
      };
    }
    if (atLimit) pendingLeft -= 1;
    const staleAt = staleOf(d.slot, index);
    const shifted = d.trigger === 'catchup' && staleAt !== null ? new Date(nowMs + (staleAt.getTime() - d.slot.getTime())) : staleAt;
    return { ...base, triggerSource: d.trigger, status: 'pending', staleAt: shifted, availableAt: d.trigger === 'catchup' ? now : d.slot };
  });

  // Without `more` no slot lies in (last, now], so the slot after `last` is also the first
  // slot after now: the next due instant either way.
  return {
    claim: { jobId: job.jobId, expectedNextDueAt: first, nextDueAt: following, runs },
    more,
  };
}

/**
 * Claims the next slot of a job ahead of its instant (it lies in (now, horizon]): planned as
 * the tick at that instant would plan it, on time with trigger `scheduler`. One slot per job
 * and tick; the next one is claimed by a later tick. The overlap counts are not read: the
 * worker's claim applies `skip` to a run that finds the job busy when it arrives (a truer
 * count than one taken before the slot), and the caller leaves a `bufferOne` job at its
 * limit to the tick at the slot.
 */
export function planAhead(job: PlanJob, horizon: Date, grids?: SlotGridCache): SlotClaim | null {
  const slot = job.nextDueAt;
  if (slot === null || job.schedule === null || slot.getTime() > horizon.getTime()) return null;
  return planSlots(job, slot, { running: 0, pending: 0 }, 1, grids)?.claim ?? null;
}
