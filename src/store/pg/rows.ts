/* eslint-disable @typescript-eslint/no-explicit-any -- pg result rows are untyped: their columns are read by name where they are mapped */
/**
 * Rows ↔ records, in one place. `timestamptz` comes back from node-postgres as a `Date`
 * with millisecond precision; warren only writes JS Dates, so instants round-trip exactly.
 */
import type { JobConfig, JobConfigKey, TriggerSource } from '../../define/types.js';
import type { AttemptRecord, AuditEntry, JobRecord, RunRecord, RunStatus } from '../port.js';

/** JobConfig key → column and the cast its parameter needs. Keys are stored in `overridden` as written here. */
export const CONFIG_COLUMNS: ReadonlyArray<{ key: JobConfigKey; column: string; cast: string; json: boolean }> = [
  { key: 'queue', column: 'queue', cast: 'text', json: false },
  { key: 'schedule', column: 'schedule', cast: 'jsonb', json: true },
  { key: 'reschedule', column: 'reschedule', cast: 'text', json: false },
  { key: 'params', column: 'params', cast: 'jsonb', json: true },
  { key: 'enabled', column: 'enabled', cast: 'boolean', json: false },
  { key: 'timeoutMs', column: 'timeout_ms', cast: 'bigint', json: false },
  { key: 'retry', column: 'retry', cast: 'jsonb', json: true },
  { key: 'overlap', column: 'overlap', cast: 'text', json: false },
  { key: 'maxParallel', column: 'max_parallel', cast: 'integer', json: false },
  { key: 'catchup', column: 'catchup', cast: 'jsonb', json: true },
  { key: 'stale', column: 'stale', cast: 'jsonb', json: true },
  { key: 'description', column: 'description', cast: 'text', json: false },
  { key: 'runOnStartup', column: 'run_on_startup', cast: 'boolean', json: false },
  { key: 'retention', column: 'retention', cast: 'jsonb', json: true },
];

export const CONFIG_KEYS: readonly JobConfigKey[] = CONFIG_COLUMNS.map((c) => c.key);

/** The parameter values of a config, in CONFIG_COLUMNS order (JSON as text: node-postgres would turn arrays into Postgres arrays). */
export function configValues(config: Partial<JobConfig>): unknown[] {
  return CONFIG_COLUMNS.map(({ key, json }) => {
    const value = config[key];
    if (value === undefined || value === null) return null;
    return json ? JSON.stringify(value) : value;
  });
}

type Row = Record<string, any>;

/** An instant as node-postgres gives it (a Date), as JSON carries it (ISO text), or as epoch ms (queries.ts `runColumnsMs`). */
function date(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(value as string | number);
}

function isoDate(value: unknown): Date | null {
  return value === null || value === undefined ? null : new Date(value as string);
}

export function toJob(row: Row): JobRecord {
  return {
    scope: row.scope,
    jobId: row.job_id,
    queue: row.queue,
    schedule: row.schedule ?? null,
    reschedule: row.reschedule,
    params: row.params ?? {},
    enabled: row.enabled,
    timeoutMs: Number(row.timeout_ms),
    retry: row.retry,
    overlap: row.overlap,
    maxParallel: row.max_parallel,
    catchup: row.catchup,
    stale: row.stale,
    description: row.description ?? null,
    runOnStartup: row.run_on_startup,
    retention: row.retention ?? null,
    overridden: [...(row.overridden ?? [])] as JobConfigKey[],
    pauseNote: row.pause_note ?? null,
    epoch: row.epoch,
    nextDueAt: date(row.next_due_at),
    lastRunAt: date(row.last_run_at),
    lastStatus: (row.last_status ?? null) as RunStatus | null,
    createdAt: date(row.created_at)!,
    updatedAt: date(row.updated_at)!,
  };
}

export function toAttempt(value: Row): AttemptRecord {
  return {
    attempt: value.attempt,
    workerId: value.workerId ?? null,
    startedAt: isoDate(value.startedAt),
    finishedAt: isoDate(value.finishedAt)!,
    status: value.status,
    error: value.error ?? null,
    retryAt: isoDate(value.retryAt),
  };
}

/** An AttemptRecord as stored in `runs.attempts` (Dates as ISO strings). */
export function attemptJson(attempt: AttemptRecord): Record<string, unknown> {
  return {
    attempt: attempt.attempt,
    workerId: attempt.workerId,
    startedAt: attempt.startedAt?.toISOString() ?? null,
    finishedAt: attempt.finishedAt.toISOString(),
    status: attempt.status,
    error: attempt.error,
    retryAt: attempt.retryAt?.toISOString() ?? null,
  };
}

export function toRun(row: Row): RunRecord {
  return {
    runId: row.run_id,
    scope: row.scope,
    jobId: row.job_id,
    scheduledFor: date(row.scheduled_for)!,
    triggerSource: row.trigger_source as TriggerSource,
    attempt: row.attempt,
    status: row.status as RunStatus,
    params: row.params ?? {},
    epoch: row.epoch,
    staleAt: date(row.stale_at),
    availableAt: date(row.available_at)!,
    leaseUntil: date(row.lease_until),
    workerId: row.worker_id ?? null,
    startedAt: date(row.started_at),
    finishedAt: date(row.finished_at),
    error: row.error ?? null,
    publishedAt: date(row.published_at),
    cancelRequestedAt: date(row.cancel_requested_at),
    createdAt: date(row.created_at)!,
    attempts: Array.isArray(row.attempts) ? row.attempts.map(toAttempt) : [],
  };
}

export function toAudit(row: Row): AuditEntry {
  return {
    id: Number(row.id),
    scope: row.scope,
    jobId: row.job_id,
    action: row.action,
    actor: row.actor ?? null,
    details: row.details ?? {},
    at: date(row.at)!,
  };
}
