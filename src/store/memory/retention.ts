/**
 * MemoryStore's retention: the same cutoffs and batches as PgStore's `retentionCutoffs` and
 * `pruneRuns` (queries.ts), over the in-memory tables.
 */
import type { PruneCutoff, RetentionDefaults, RunRecord } from '../port.js';
import { jobKey } from '../decide.js';
import { type MemoryState, type RetentionMark, deleteRun } from './state.js';

const LIVE = new Set(['pending', 'running']);

export function retentionCutoffs(state: MemoryState, scope: string, defaults: RetentionDefaults, now: Date): PruneCutoff[] {
  const cutoffs: PruneCutoff[] = [];
  for (const runs of state.runsByJob.values()) {
    if (runs.length === 0 || runs[0]!.scope !== scope) continue;
    const jobId = runs[0]!.jobId;
    const key = jobKey(scope, jobId);
    const own = state.jobs.get(key)?.retention ?? null;
    const maxAgeMs = own !== null && own.maxAgeMs !== undefined ? own.maxAgeMs : defaults.maxAgeMs;
    const keepLast = own !== null && own.keepLast !== undefined ? own.keepLast : defaults.keepLast;
    const created = runs.map((run) => run.createdAt.getTime()).sort((a, b) => a - b); // oldest first
    const newest = created[created.length - 1]!;
    const ageAt = maxAgeMs === null ? null : now.getTime() - maxAgeMs;
    const { limit, mark } =
      keepLast === null ? { limit: ageAt, mark: null } : markedLimit(state.retentionMarks.get(key), created, keepLast, ageAt);
    const before = limit === null ? null : Math.min(limit, newest);
    if (mark === null) state.retentionMarks.delete(key);
    else {
      const markAt = before ?? mark.from;
      const count =
        mark.counted === null
          ? created.filter((t) => t >= markAt).length
          : mark.counted - created.filter((t) => t >= mark.from && t < markAt).length;
      state.retentionMarks.set(key, { markAt, markCount: Math.max(0, count), seenAt: newest });
    }
    if (before !== null && created[0]! < before) cutoffs.push({ jobId, before: new Date(before) });
  }
  return cutoffs.sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
}

/**
 * The keepLast limit from the job's retention mark, as PgStore's `retentionCutoffs` finds it:
 * the runs created since the mark are counted and the keepLast-th newest is found that many
 * runs on from the mark ('walk'); with fewer than keepLast since the mark the age limit binds
 * ('below'); without a usable mark, the full count ('recount', `counted` null). `created` is
 * oldest first. Returns the limit (before the cap at the newest run) and how to write the mark:
 * from `from` (the old mark, or -Infinity for a full count) to the cutoff.
 */
function markedLimit(
  old: RetentionMark | undefined,
  created: number[],
  keepLast: number,
  ageAt: number | null,
): { limit: number | null; mark: { counted: number | null; from: number } } {
  if (old !== undefined) {
    const counted = old.markCount + created.filter((t) => t > old.seenAt).length;
    const fromMark = created.filter((t) => t >= old.markAt);
    const walk = counted >= keepLast ? fromMark[counted - keepLast] : undefined;
    if (walk !== undefined) return { limit: ageAt === null ? walk : Math.max(ageAt, walk), mark: { counted, from: old.markAt } };
    if (counted < keepLast && (old.markAt === -Infinity || (ageAt !== null && ageAt >= old.markAt))) {
      return { limit: ageAt, mark: { counted, from: old.markAt } };
    }
  }
  // Only runs younger than the age limit are counted: past it, the age limit binds anyway.
  const young = created.filter((t) => ageAt === null || t >= ageAt);
  const nth = young.length >= keepLast ? young[young.length - keepLast]! : null;
  const limit = ageAt === null ? nth : nth === null ? ageAt : Math.max(ageAt, nth);
  return { limit, mark: { counted: null, from: -Infinity } };
}

export function pruneRuns(state: MemoryState, scope: string, cutoffs: PruneCutoff[], limit: number): Map<string, number> {
  const deleted = new Map<string, number>();
  let left = limit;
  for (const { jobId, before } of cutoffs) {
    if (left === 0) break;
    const cut = before.getTime();
    const nextDue = state.jobs.get(jobKey(scope, jobId))?.nextDueAt?.getTime() ?? null;
    const prunable = (run: RunRecord): boolean =>
      run.createdAt.getTime() < cut &&
      !LIVE.has(run.status) &&
      (run.finishedAt ?? run.createdAt).getTime() < cut &&
      run.scheduledFor.getTime() !== nextDue;
    const victims = [...(state.runsByJob.get(jobKey(scope, jobId)) ?? [])]
      .filter(prunable)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, left);
    const mark = state.retentionMarks.get(jobKey(scope, jobId));
    for (const run of victims) {
      deleteRun(state, run);
      // A run at or after the job's retention mark leaves its count (as PgStore's pruneRuns).
      if (mark !== undefined && run.createdAt.getTime() >= mark.markAt) mark.markCount = Math.max(0, mark.markCount - 1);
    }
    if (victims.length > 0) deleted.set(jobId, victims.length);
    left -= victims.length;
  }
  return deleted;
}
