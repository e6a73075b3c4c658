/**
 * The control API's one type. The in-process scheduler, the HTTP admin client and the test
 * harness implement it; warren/http, warren/telegram, the CLI and the admin page use it.
 * Results are the store's records (dates as `Date`), whichever door they came through.
 */
import type { NormalizedSchedule, RescheduleMode } from '../define/types.js';
import type { AuditEntry, JobRecord, RunRecord, RunStatus } from '../store/port.js';
import type { Duration } from '../util/duration.js';

export interface ActorOption {
  /** Who did it, for the audit table (a user name, `telegram:123`, `http`). */
  actor?: string | null;
}

/** One line of `list()`. */
export interface JobStatus {
  id: string;
  queue: string;
  schedule: NormalizedSchedule | null;
  reschedule: RescheduleMode;
  enabled: boolean;
  paused: boolean;
  pauseNote: string | null;
  nextDueAt: Date | null;
  lastRunAt: Date | null;
  lastStatus: RunStatus | null;
  /** Running runs with a live lease. */
  running: number;
  /** Failed, dead, timed-out or expired among the last 20 runs. */
  recentFailures: number;
  /** Settings changed through the control API (a code sync leaves them alone). */
  overridden: string[];
  description: string | null;
}

/** `get(id)`: the status line plus the full stored row. */
export interface JobDetails extends JobStatus {
  job: JobRecord;
}

export interface PauseOptions extends ActorOption {
  /** Shown beside the paused job (why, until when). */
  note?: string | null;
}

export interface RunNowOptions extends ActorOption {
  /** Merged over the job's params; validated by the code definition's schema when there is one. */
  params?: Record<string, unknown>;
  /** Not before this long from now (through the delay topology). */
  delay?: Duration;
}

export interface RunsOptions {
  /** @default 50 */
  limit?: number;
  status?: RunStatus | RunStatus[];
}

export interface AuditOptions {
  jobId?: string;
  /** @default 100 */
  limit?: number;
}

export interface BackfillOptions extends ActorOption {
  from: Date | string;
  to: Date | string;
}

export interface BackfillResult {
  /** Slots in [from, to]. */
  slots: number;
  /** Runs created (a slot whose run already exists is not created again). */
  inserted: RunRecord[];
}

/** Every run status, in the store's order (the store port's list). */
export { RUN_STATUSES } from '../store/port.js';

/**
 * Steering jobs at run time: list, inspect, create, change, pause, resume, run now,
 * history, backfill and the audit trail. Every method validates its arguments and throws
 * a `WarrenError` with a stable `code` (`ERR_JOB_NOT_FOUND`, `ERR_INVALID_ARGUMENT`,
 * `ERR_INVALID_JOB`, …), the same code through every implementation.
 */
export interface Control {
  list(): Promise<JobStatus[]>;
  get(id: string): Promise<JobDetails>;
  /** Create or replace a job from the seed's `POST /jobs` body or a JSON JobSpec. */
  upsert(body: unknown, options?: ActorOption): Promise<JobDetails>;
  /** Patch settings (period, cron, params, enabled, …); the changed keys become overridden. */
  update(id: string, patch: unknown, options?: ActorOption): Promise<JobDetails>;
  remove(id: string, options?: ActorOption): Promise<void>;
  pause(id: string, options?: PauseOptions): Promise<JobDetails>;
  resume(id: string, options?: ActorOption): Promise<JobDetails>;
  /** One run now (or after `delay`), even while paused; trigger_source `manual`. */
  runNow(id: string, options?: RunNowOptions): Promise<RunRecord>;
  runs(id: string, options?: RunsOptions): Promise<RunRecord[]>;
  backfill(id: string, options: BackfillOptions): Promise<BackfillResult>;
  audit(options?: AuditOptions): Promise<AuditEntry[]>;
}
