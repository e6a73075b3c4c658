/**
 * Claims and completions in memory: the records of the batch are read from the maps, the
 * shared state machine (../decide.ts) decides, and the decided rows are written back, as
 * PgStore does with the rows it locked.
 */
import type {
  ClaimContext,
  ClaimRequest,
  ClaimResult,
  Completion,
  CompletionResult,
  HeartbeatResult,
  JobRecord,
  RunRecord,
} from '../port.js';
import { goneAsked, jobKey, planClaims, planCompletions } from '../decide.js';
import { type MemoryState, clone, insertRun, runsOf } from './state.js';
import { workerGone } from './liveness.js';

/**
 * Writes decided rows over the stored records (the same objects the per-job index holds).
 * A decided row shares nothing with the caller's arguments, only with the store's records,
 * so it is kept without a copy; what goes back to the caller is cloned.
 */
function write(state: MemoryState, updates: ReadonlyMap<string, RunRecord>): void {
  for (const [runId, next] of updates) Object.assign(state.runs.get(runId)!, next);
}

/** The stored records of the runs asked about (unknown ids left out), keyed by id. */
function runsAsked(state: MemoryState, asked: ReadonlyArray<{ runId: string }>): Map<string, RunRecord> {
  const runs = new Map<string, RunRecord>();
  for (const { runId } of asked) {
    const run = state.runs.get(runId);
    if (run) runs.set(runId, run);
  }
  return runs;
}

/** The jobs of the given runs, keyed like the decide functions expect. */
function jobsOf(state: MemoryState, runs: Iterable<RunRecord>): Map<string, JobRecord> {
  const jobs = new Map<string, JobRecord>();
  for (const run of runs) {
    const key = jobKey(run.scope, run.jobId);
    const job = state.jobs.get(key);
    if (job) jobs.set(key, job);
  }
  return jobs;
}

/** Claims runs in request order; each request sees the claims made before it in the batch. */
export function claimRuns(state: MemoryState, requests: readonly ClaimRequest[], ctx: ClaimContext): ClaimResult[] {
  // The requested runs, and the running runs of their jobs (what the overlap policy counts).
  const runs = runsAsked(state, requests);
  const jobs = jobsOf(state, runs.values());
  for (const job of jobs.values())
    for (const run of runsOf(state, job.scope, job.jobId)) if (run.status === 'running') runs.set(run.runId, run);
  const plan = planClaims(requests, runs, jobs, ctx);
  write(state, plan.updates);
  return plan.results.map((result) => ({ ...result, run: result.run && clone(result.run), job: result.job && clone(result.job) }));
}

/** Extends the caller's live leases; anything it may not keep running goes to `cancel`. */
export function heartbeat(state: MemoryState, runIds: readonly string[], ctx: ClaimContext): HeartbeatResult {
  const extended: string[] = [];
  const cancel: string[] = [];
  for (const runId of runIds) {
    const run = state.runs.get(runId);
    // A lease that ran out but was not reaped yet is still this worker's: the reaper's
    // guard (lease expired before now) fails once it is extended, so nobody runs it twice.
    if (!run || run.status !== 'running' || run.workerId !== ctx.workerId) {
      cancel.push(runId);
      continue;
    }
    // A run asked to stop keeps its lease while its handler winds down.
    run.leaseUntil = new Date(ctx.now.getTime() + ctx.leaseMs);
    extended.push(runId);
    if (run.cancelRequestedAt !== null) cancel.push(runId);
  }
  return { extended, cancel };
}

/** Records results; a guard that fails leaves its run untouched. */
export function completeRuns(state: MemoryState, completions: readonly Completion[]): CompletionResult[] {
  const runs = runsAsked(state, completions);
  const gone = new Set([...goneAsked(completions)].filter(([workerId, cutoff]) => workerGone(state, workerId, cutoff)).map(([id]) => id));
  const plan = planCompletions(completions, runs, jobsOf(state, runs.values()), gone);
  write(state, plan.updates);
  for (const [key, update] of plan.jobUpdates) {
    const job = state.jobs.get(key)!;
    job.lastRunAt = update.lastRunAt && new Date(update.lastRunAt);
    job.lastStatus = update.lastStatus;
    if (update.nextDueAt !== undefined) job.nextDueAt = new Date(update.nextDueAt);
  }
  const links = new Map(plan.chain.map((link) => [link.index, insertRun(state, link.scope, link.run, plan.chainCreatedAt!)]));
  return plan.results.map((result, index) => {
    const link = links.get(index);
    return { ...result, run: result.run && clone(result.run), nextRun: link ? clone(link) : null };
  });
}
