import type { StandardSchemaV1 } from './standard-schema.js';
import type { Duration } from '../util/duration.js';

/** What to do when a slot comes due while `maxParallel` runs of the job are still running. */
export type OverlapPolicy = 'skip' | 'bufferOne' | 'bufferAll' | 'cancelOther' | 'allowAll';

/** Where the next run comes from: the leader publishes each slot, or the worker chains the next run after each run. */
export type RescheduleMode = 'scheduler' | 'queue';

export type CatchupMode = 'none' | 'latest' | 'all';

export type ScheduleSpec = { cron: string; tz?: string } | { every: Duration };

export type BackoffSpec =
  | { type: 'fixed'; delay: Duration; jitter?: number }
  | { type: 'exponential'; delay: Duration; max?: Duration; factor?: number; jitter?: number };

export interface RetrySpec {
  /** Total attempts including the first. @default 3 (the seed's `max_attempts`) */
  maxAttempts?: number;
  /** @default { type: 'exponential', delay: '5s', max: '10m', factor: 2, jitter: 0.2 } */
  backoff?: BackoffSpec;
}

export type CatchupSpec = CatchupMode | { mode: CatchupMode; window?: Duration; max?: number };

/** The object a user passes to `defineJob`. */
export interface JobSpec<TSchema extends StandardSchemaV1 = StandardSchemaV1> {
  /** Stable job id: lower-case letters, digits, `-`, `_`, `.`; 1–100 characters. */
  id: string;
  /** Queue name (without the `{scope}.jobs.` prefix). Several jobs may share a queue. @default id */
  queue?: string;
  /** Omit for a job that only runs on demand (runNow, startup, backfill). */
  schedule?: ScheduleSpec;
  /** @default 'scheduler' */
  reschedule?: RescheduleMode;
  /**
   * Schema of the params a handler receives: any Standard Schema (zod 3.24+ or 4, valibot,
   * ArkType, ...) that validates synchronously. @default z.record(z.string(), z.unknown())
   */
  params?: TSchema;
  /** Params used when a run does not bring its own; validated against `params` at define time. */
  defaultParams?: StandardSchemaV1.InferInput<TSchema>;
  /** Handler time limit; the signal aborts when it passes. @default '5m' */
  timeout?: Duration;
  retry?: RetrySpec;
  /** @default 'skip' */
  overlap?: OverlapPolicy;
  /** Cluster-wide limit of concurrently running runs of this job. @default 1 */
  maxParallel?: number;
  /** @default { mode: 'latest', window: 24 × period (at least 1h), max: 100 } */
  catchup?: CatchupSpec;
  /** A trigger not started this long after its slot is recorded `expired`. @default 0.8 × the period; null = never */
  staleAfter?: Duration | null;
  /** Overrides the scheduler's / worker's scope for this job. */
  scope?: string;
  description?: string;
  /** @default true */
  enabled?: boolean;
  /** Publish one `startup` run when a worker for this job boots (deduplicated across replicas). @default false */
  runOnStartup?: boolean;
  /**
   * How much of this job's run history the leader keeps (docs/retention.md). A limit left
   * out takes the scheduler's `retention` default; `null` lifts it.
   * @default the scheduler's `retention` (30 days, the last 10,000 runs)
   */
  retention?: RetentionSpec | null;
}

/** Run-history limits as written: a run is pruned once it is past either limit. */
export interface RetentionSpec {
  /** Prune runs created and finished longer ago than this; `null`: no age limit. */
  maxAge?: Duration | null;
  /** Keep at least the newest N runs (N >= 1); older ones are pruned; `null`: no count limit. */
  keepLast?: number | null;
}

/**
 * A job's run-history limits as stored: a key left out takes the scope's default (the
 * scheduler's `retention` option), `null` means no limit of that kind.
 */
export interface RetentionPolicy {
  maxAgeMs?: number | null;
  keepLast?: number | null;
}

/** A schedule as the store keeps it: cron with its resolved tz, or an absolute period in ms. */
export type NormalizedSchedule = { kind: 'cron'; cron: string; tz: string } | { kind: 'every'; everyMs: number };

/**
 * A schedule as defined (code or JSON): a cron without `tz` takes the default time zone
 * (the `timezone` option of the scheduler or worker that writes the job to the store).
 */
export type DefinedSchedule = { kind: 'cron'; cron: string; tz?: string } | { kind: 'every'; everyMs: number };

export interface NormalizedBackoff {
  type: 'fixed' | 'exponential';
  delayMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the fraction of each delay that is randomised. */
  jitter: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  backoff: NormalizedBackoff;
}

/**
 * When a trigger is too old to run. `period`: `ratio` × the gap from the slot to the next
 * one (the seed's 0.8 × interval); `fixed`: a set time after the slot; `never`.
 * Runs with no schedule slot (manual, startup, backfill) only expire under `fixed`.
 */
export type StalePolicy = { kind: 'period'; ratio: number } | { kind: 'fixed'; ms: number } | { kind: 'never' };

export interface CatchupPolicy {
  mode: CatchupMode;
  windowMs: number;
  max: number;
}

/**
 * The persisted, JSON-safe settings of a job: what the store keeps per row and what the
 * control API may change at run time. Code definitions provide the defaults; theirs
 * (`DefinedJobConfig`) may leave a cron's tz to the default time zone.
 */
export interface JobConfig<TSchedule extends DefinedSchedule = NormalizedSchedule> {
  queue: string;
  schedule: TSchedule | null;
  reschedule: RescheduleMode;
  params: Record<string, unknown>;
  enabled: boolean;
  timeoutMs: number;
  retry: RetryPolicy;
  overlap: OverlapPolicy;
  maxParallel: number;
  catchup: CatchupPolicy;
  stale: StalePolicy;
  description: string | null;
  runOnStartup: boolean;
  /** This job's history limits; `null`: the scope's default. */
  retention: RetentionPolicy | null;
}

/** A job's settings as defined, before its cron's tz is resolved. */
export type DefinedJobConfig = JobConfig<DefinedSchedule>;

/** Keys of JobConfig the control API may patch; a patched key is remembered as overridden. */
export type JobConfigKey = keyof JobConfig;

/** The result of `defineJob`: validated, frozen, and typed by its params schema. */
export interface JobDefinition<TParams = Record<string, unknown>> {
  readonly id: string;
  readonly scope: string | undefined;
  readonly config: Readonly<DefinedJobConfig>;
  /** Parses params (defaults merged) with the job's schema; throws ERR_INVALID_ARGUMENT naming the field. */
  parseParams(input: unknown): TParams;
  /** The params schema (a Standard Schema), for adapters that render forms or docs. */
  readonly paramsSchema: StandardSchemaV1;
  /** Phantom field carrying the params type; never set at run time. */
  readonly __params?: TParams;
}

export type ParamsOf<D> = D extends JobDefinition<infer P> ? P : never;

export type TriggerSource = 'scheduler' | 'manual' | 'retry' | 'startup' | 'catchup' | 'backfill' | 'chain';

export interface JobLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What a handler receives. */
export interface JobContext<TParams = Record<string, unknown>> {
  jobId: string;
  scope: string;
  runId: string;
  params: TParams;
  attempt: number;
  maxAttempts: number;
  triggerSource: TriggerSource;
  /** The slot this run belongs to (for manual runs: when it was requested). */
  scheduledFor: Date;
  /** Aborted on timeout, on cancelOther, and when the worker shuts down past its grace period. */
  signal: AbortSignal;
  log: JobLogger;
}

export type JobHandler<TParams = Record<string, unknown>> = (ctx: JobContext<TParams>) => unknown;
