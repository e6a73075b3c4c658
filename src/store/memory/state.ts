import { jobKey } from '../decide.js';
import type { JobChange, JobRecord, LivenessHandle, NewRun, RunRecord, AuditEntry } from '../port.js';
import type { LeaseRow } from '../leadership.js';
import type { LivenessRow } from './liveness.js';

/** What Postgres keeps in tables, held in maps. Records inside are never handed out. */
export interface MemoryState {
  /** key: jobKey(scope, jobId) */
  jobs: Map<string, JobRecord>;
  /** key: runId (global, like the runs primary key) */
  runs: Map<string, RunRecord>;
  /** Insertion order of runs, the last tie-breaker of "newest first". */
  runSeq: Map<string, number>;
  /** key: jobKey(scope, jobId) → its runs, an index like runs(scope, job_id). */
  runsByJob: Map<string, RunRecord[]>;
  /** The unique key (scope, job_id, scheduled_for). */
  slots: Set<string>;
  leases: Map<string, LeaseRow>;
  audit: AuditEntry[];
  listeners: Map<string, Set<(change: JobChange) => void>>;
  seq: number;
  /** The liveness table, key: livenessKey(kind, instanceId). */
  liveness: Map<string, LivenessRow>;
  /** The liveness locks held now (the open handles), same key. */
  livenessLocks: Map<string, LivenessHandle>;
  /** Callbacks waiting for a liveness lock to be released, same key. */
  livenessWaiters: Map<string, Set<() => void>>;
  /** The retention_marks table, key: jobKey(scope, jobId). */
  retentionMarks: Map<string, RetentionMark>;
}

/** Where a job's last retention pass stood (sql/000005.sql); times in ms, -Infinity for none. */
export interface RetentionMark {
  markAt: number;
  markCount: number;
  seenAt: number;
}

export function createState(): MemoryState {
  return {
    jobs: new Map(),
    runs: new Map(),
    runSeq: new Map(),
    runsByJob: new Map(),
    slots: new Set(),
    leases: new Map(),
    audit: [],
    listeners: new Map(),
    seq: 0,
    liveness: new Map(),
    livenessLocks: new Map(),
    livenessWaiters: new Map(),
    retentionMarks: new Map(),
  };
}

function slotKey(scope: string, jobId: string, scheduledFor: Date): string {
  return `${scope}\u0000${jobId}\u0000${scheduledFor.getTime()}`;
}

/**
 * Deep copy in and out: a caller mutating what it passed or got back must not change the
 * store, as with rows read from Postgres. structuredClone keeps Dates.
 */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function sameInstant(a: Date | null, b: Date | null): boolean {
  if (a === null || b === null) return a === b;
  return a.getTime() === b.getTime();
}

const FINAL_ON_INSERT = new Set(['missed', 'skipped', 'expired', 'cancelled']);

/**
 * `INSERT … ON CONFLICT DO NOTHING` on run_id and on (scope, job_id, scheduled_for) for
 * every run but a manual one (migration 2: runNow is not a slot): returns the stored row,
 * or null when either key already exists.
 */
export function insertRun(state: MemoryState, scope: string, input: NewRun, now: Date): RunRecord | null {
  const slot = input.triggerSource === 'manual' ? null : slotKey(scope, input.jobId, input.scheduledFor);
  if (state.runs.has(input.runId) || (slot !== null && state.slots.has(slot))) return null;
  const run: RunRecord = {
    runId: input.runId,
    scope,
    jobId: input.jobId,
    scheduledFor: new Date(input.scheduledFor),
    triggerSource: input.triggerSource,
    attempt: input.attempt ?? 1,
    status: input.status,
    params: clone(input.params),
    epoch: input.epoch,
    staleAt: input.staleAt === null ? null : new Date(input.staleAt),
    availableAt: new Date(input.availableAt),
    leaseUntil: null,
    workerId: null,
    startedAt: null,
    // A slot recorded with a final status (missed, skipped…) is finished when recorded.
    finishedAt: FINAL_ON_INSERT.has(input.status) ? new Date(now) : null,
    error: input.error ?? null,
    publishedAt: null,
    cancelRequestedAt: null,
    createdAt: new Date(now),
    attempts: [],
  };
  state.runs.set(run.runId, run);
  state.runSeq.set(run.runId, ++state.seq);
  if (slot !== null) state.slots.add(slot);
  const key = jobKey(scope, run.jobId);
  const list = state.runsByJob.get(key);
  if (list) list.push(run);
  else state.runsByJob.set(key, [run]);
  return run;
}

/** DELETE of one run: the row, its insertion order, its slot key and its place in the job's list. */
export function deleteRun(state: MemoryState, run: RunRecord): void {
  state.runs.delete(run.runId);
  state.runSeq.delete(run.runId);
  if (run.triggerSource !== 'manual') state.slots.delete(slotKey(run.scope, run.jobId, run.scheduledFor));
  const key = jobKey(run.scope, run.jobId);
  const list = state.runsByJob.get(key);
  if (!list) return;
  const at = list.indexOf(run);
  if (at >= 0) list.splice(at, 1);
  if (list.length === 0) state.runsByJob.delete(key);
}

/** Running with a live lease: what the overlap policy and countRunning count. */
export function isLive(run: RunRecord, now: Date): boolean {
  return run.status === 'running' && run.leaseUntil !== null && run.leaseUntil.getTime() > now.getTime();
}

export function runsOf(state: MemoryState, scope: string, jobId: string): readonly RunRecord[] {
  return state.runsByJob.get(jobKey(scope, jobId)) ?? [];
}

export function liveRunsOf(state: MemoryState, scope: string, jobId: string, now: Date): RunRecord[] {
  return runsOf(state, scope, jobId).filter((run) => isLive(run, now));
}
