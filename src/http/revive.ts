/**
 * Turns the admin API's JSON back into the control API's records: Dates exactly where the
 * in-process results have them (never inside `params` or `details`, which are the user's
 * data), and a clear error when an answer is not shaped like the admin API's.
 */
import type { BackfillResult, JobDetails, JobStatus } from '../scheduler/control-types.js';
import type { AttemptRecord, AuditEntry, JobRecord, RunRecord } from '../store/port.js';

/** A value the caller could not have asked for: the client turns it into ERR_UNEXPECTED_RESPONSE. */
export class ShapeError extends Error {}

/** The keys of T whose type includes Date. */
type DateKeys<T> = { [K in keyof T]-?: [Extract<T[K], Date>] extends [never] ? never : K }[keyof T];

// `satisfies` keeps these lists exhaustive: a Date field added to a record fails to compile here.
const JOB_STATUS_DATES = { nextDueAt: true, lastRunAt: true } satisfies Record<DateKeys<JobStatus>, true>;
const JOB_DATES = { nextDueAt: true, lastRunAt: true, createdAt: true, updatedAt: true } satisfies Record<DateKeys<JobRecord>, true>;
const RUN_DATES = {
  scheduledFor: true,
  staleAt: true,
  availableAt: true,
  leaseUntil: true,
  startedAt: true,
  finishedAt: true,
  publishedAt: true,
  cancelRequestedAt: true,
  createdAt: true,
} satisfies Record<DateKeys<RunRecord>, true>;
const ATTEMPT_DATES = { startedAt: true, finishedAt: true, retryAt: true } satisfies Record<DateKeys<AttemptRecord>, true>;
const AUDIT_DATES = { at: true } satisfies Record<DateKeys<AuditEntry>, true>;

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ShapeError(`${what} is not an object`);
  return value as Record<string, unknown>;
}

export function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(`${what} is not an array`);
  return value;
}

/** A copy of `value` with the listed keys as Dates (null stays null). */
function withDates<T>(value: unknown, keys: Record<string, true>, what: string): T {
  const out = { ...object(value, what) };
  for (const key of Object.keys(keys)) {
    const raw = out[key];
    if (raw === null) continue;
    const date = typeof raw === 'string' ? new Date(raw) : null;
    if (date === null || Number.isNaN(date.getTime())) throw new ShapeError(`${what}.${key} is not a timestamp`);
    out[key] = date;
  }
  return out as T;
}

export function reviveStatus(value: unknown, what = 'the job status'): JobStatus {
  return withDates<JobStatus>(value, JOB_STATUS_DATES, what);
}

export function reviveDetails(value: unknown): JobDetails {
  const details = withDates<JobDetails>(value, JOB_STATUS_DATES, 'the job');
  return { ...details, job: withDates<JobRecord>(details.job, JOB_DATES, 'the job.job') };
}

export function reviveRun(value: unknown, what = 'the run'): RunRecord {
  const run = withDates<RunRecord>(value, RUN_DATES, what);
  return {
    ...run,
    attempts: array(run.attempts, `${what}.attempts`).map((a, i) => withDates<AttemptRecord>(a, ATTEMPT_DATES, `${what}.attempts[${i}]`)),
  };
}

export function reviveAudit(value: unknown, what: string): AuditEntry {
  return withDates<AuditEntry>(value, AUDIT_DATES, what);
}

export function reviveBackfill(value: unknown): BackfillResult {
  const result = object(value, 'the backfill result');
  if (typeof result.slots !== 'number') throw new ShapeError('the backfill result has no `slots` count');
  return {
    slots: result.slots,
    inserted: array(result.inserted, 'the backfill result.inserted').map((run, i) => reviveRun(run, `inserted[${i}]`)),
  };
}

/** `{ [key]: [...] }` → the revived list. */
export function listOf<T>(value: unknown, key: string, revive: (item: unknown, what: string) => T): T[] {
  return array(object(value, 'the answer')[key], `the answer's \`${key}\``).map((item, i) => revive(item, `${key}[${i}]`));
}
