/**
 * MemoryStore's retention: the same cutoffs and batches as PgStore's `retentionCutoffs` and
 * `pruneRuns` (queries.ts), over the in-memory tables.
 */
import type { PruneCutoff, RetentionDefaults, RunRecord } from '../port.js';
import { jobKey } from '../decide.js';
import { type MemoryState, deleteRun } from './state.js';

const LIVE = new Set(['pending', 'running']);

export function retentionCutoffs(state: MemoryState, scope: string, defaults: RetentionDefaults, now: Date): PruneCutoff[] {
  const cutoffs: PruneCutoff[] = [];
  for (const runs of state.runsByJob.values()) {
    if (runs.length === 0 || runs[0]!.scope !== scope) continue;
    const jobId = runs[0]!.jobId;
    const own = state.jobs.get(jobKey(scope, jobId))?.retention ?? null;
    const maxAgeMs = own !== null && own.maxAgeMs !== undefined ? own.maxAgeMs : defaults.maxAgeMs;
    const keepLast = own !== null && own.keepLast !== undefined ? own.keepLast : defaults.keepLast;
    const created = runs.map((run) => run.createdAt.getTime()).sort((a, b) => b - a);
    const limits: number[] = [];
    if (maxAgeMs !== null) limits.push(now.getTime() - maxAgeMs);
    if (keepLast !== null && created.length >= keepLast) limits.push(created[keepLast - 1]!);
    if (limits.length === 0) continue;
    // The newest run's creation caps the cutoff: the last run of every job stays.
    const before = Math.min(Math.max(...limits), created[0]!);
    if (created[created.length - 1]! < before) cutoffs.push({ jobId, before: new Date(before) });
  }
  return cutoffs.sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
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
    for (const run of victims) deleteRun(state, run);
    if (victims.length > 0) deleted.set(jobId, victims.length);
    left -= victims.length;
  }
  return deleted;
}
