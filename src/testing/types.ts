/* eslint-disable @typescript-eslint/no-explicit-any -- the harness holds job definitions and handlers of every params type side by side */
import type { Clock } from '../clock.js';
import type { Transport } from '../broker/transport.js';
import type { JobDefinition, JobHandler, TriggerSource } from '../define/types.js';
import type { AuditEntry, RunRecord, RunStatus, Store } from '../store/port.js';
import type { Duration } from '../util/duration.js';
import type { QueueParams } from '../worker/handlers.js';
import type { StandardSchemaV1 } from '../define/standard-schema.js';

/** A job and the handler the harness's workers run for it. */
export interface HarnessJob<P = any> {
  definition: JobDefinition<P>;
  handler?: JobHandler<P>;
}

/** A queue handler with options (see `worker.handleQueue`): its `params` schema types and checks the params. */
export interface HarnessQueue<S extends StandardSchemaV1 | undefined = StandardSchemaV1 | undefined> {
  handler: JobHandler<QueueParams<S>>;
  params?: S;
}

export interface TestHarnessOptions {
  /** Job definitions (handlers in `handlers`), or `{ definition, handler }` pairs. @default [] */
  jobs?: ReadonlyArray<JobDefinition<any> | HarnessJob>;
  /**
   * Queue handlers by queue name (`{ 'price-monitor': handler }`, or `{ handler, params }`):
   * every worker also runs whatever job is routed to these queues, jobs that exist only in
   * the store (created with `upsert`) included. A job in `jobs` keeps its own handler.
   */
  queues?: Record<string, JobHandler<any> | HarnessQueue<any>>;
  /**
   * Handlers by job id, or `{ definition, handler }` pairs (their definitions join `jobs`).
   * A job without a handler gets one that succeeds at once.
   */
  handlers?: Record<string, JobHandler<any>> | ReadonlyArray<{ definition: JobDefinition<any>; handler: JobHandler<any> }>;
  /** Where fake time starts. @default '2025-01-06T00:00:00.000Z' (a Monday) */
  start?: Date | string | number;
  /** @default 'test' */
  scope?: string;
  /** Worker instances, each consuming every job's queue. @default 1 */
  workers?: number;
  /** Scheduler instances in the leader election (one leads). @default 1 */
  schedulers?: number;
  /**
   * The schedulers' leader lease (renewed every third of it). Longer than the scheduler's
   * own default (15s) so fake days pass with fewer idle renewals; slots do not depend on it,
   * failover after `crashScheduler()` does.
   * @default '5m'
   */
  leaseTtl?: Duration;
  /**
   * Extra options passed to every `createScheduler`. The harness sets `safetyTick: '1m'`
   * (the scheduler's default is 10s): the tick that reaps expired worker leases, so a
   * worker without liveness has its crashed run retried up to a minute after its lease ran
   * out; and `livenessCheckInterval: '10s'` (default 500ms): a crashed worker's run is
   * retried about 11 s of fake time after the crash.
   * A `timezone` given here is the workers' too, unless `workerOptions` names one.
   */
  schedulerOptions?: Record<string, unknown>;
  /** Extra options passed to every `createWorker` (advanced; e.g. a run lease). */
  workerOptions?: Record<string, unknown>;
  /**
   * Backends to use instead of the in-memory ones: a `Store`, a `Transport` and a
   * `Clock`. With a clock that is not a `FakeClock`, `advance()` waits in real time; the
   * parity tests use this to run the same scenarios on PostgreSQL and RabbitMQ.
   * The harness does not close a store or transport it was given.
   */
  store?: Store;
  transport?: Transport;
  clock?: Clock;
}

export interface HarnessAttempt {
  attempt: number;
  status: RunStatus;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  /** For a failed attempt with attempts left: when the next one may start. */
  retryAt: Date | null;
  workerId: string | null;
}

/** A run as the harness reports it: the store's row with its attempt history. */
export interface HarnessRun {
  runId: string;
  jobId: string;
  status: RunStatus;
  /** The current (or last) attempt. */
  attempt: number;
  triggerSource: TriggerSource;
  scheduledFor: Date;
  availableAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  params: Record<string, unknown>;
  workerId: string | null;
  /** Every attempt, oldest first, the current one last. */
  attempts: HarnessAttempt[];
  /** The store's row, for anything not mapped above. */
  record: RunRecord;
}

export interface DeadLetter {
  /** The dead-letter queue (`{scope}.jobs.{queue}.dead`). */
  queue: string;
  jobId: string | null;
  runId: string | null;
  reason: string;
  at: Date;
  headers: Record<string, unknown>;
  body: Buffer;
}

export type HarnessAudit = AuditEntry;

export interface WaitForOptions {
  /** How much (fake) time to let pass before giving up with ERR_TIMEOUT. @default '1d' */
  timeout?: Duration;
}

export interface DowntimeOptions {
  /** Take the workers down too (their queues then fill up until they return). @default false */
  workers?: boolean;
}

export interface CrashOptions {
  /** Start a fresh worker in the crashed one's place at once (a restarted container). @default true */
  restart?: boolean;
}
