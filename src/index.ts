export { WarrenError, NonRetryableError, RetryAfterError, isWarrenError } from './errors.js';
export type { WarrenErrorCode, WarrenErrorOptions } from './errors.js';
export { SystemClock, systemClock } from './clock.js';
export type { Clock, Timer } from './clock.js';
export type { Duration } from './util/duration.js';
export type { HostLogger, LoggerStyle } from './util/logger.js';
export type * from './define/types.js';
export { defineJob } from './define/define-job.js';
export type { DefaultParamsSchema, NormalizedJobSpec } from './define/define-job.js';
export type { StandardSchemaV1 } from './define/standard-schema.js';
export { nextRuns, nextRun, slotsBetween, periodAt } from './define/schedule.js';
export { backoffDelayMs } from './util/backoff.js';
export { createWorker } from './worker/index.js';
export type {
  Worker,
  WorkerState,
  WorkerOptions,
  WorkerJob,
  WorkerQueue,
  QueueHandlerOptions,
  QueueParams,
  WorkerLogger,
  WorkerEvents,
  WorkerStats,
  RunInfo,
} from './worker/index.js';
export { migrate } from './store/migrate.js';
export type { MigrateOptions, MigrateResult } from './store/migrate.js';
export { PgStore } from './store/pg/index.js';
export type { PgStoreOptions, Queryable } from './store/pg/index.js';
export type { QueryConfigLike } from './store/pg/db.js';
export type * from './store/port.js';
export { createScheduler, Scheduler, MAX_BACKFILL_SLOTS, RUN_STATUSES } from './scheduler/index.js';
export type {
  SchedulerOptions,
  SchedulerRole,
  SchedulerEvents,
  Control,
  JobStatus,
  JobDetails,
  PauseOptions,
  RunNowOptions,
  RunsOptions,
  AuditOptions,
  BackfillOptions,
  BackfillResult,
  ActorOption,
  TickSummary,
  ReapedRun,
  PruneSummary,
} from './scheduler/index.js';
export { delayTopology, MAX_DELAY_SEC, DELAY_LEVELS } from './broker/delay-topology.js';
export type {
  DelayTopology,
  DelayTopologyOptions,
  DelayQueueType,
  DelayExchange,
  DelayQueue,
  DelayBinding,
  DelayPublishOptions,
  TopologyChannel,
  PublishChannel,
} from './broker/delay-topology.js';
export { AmqpTransport } from './broker/amqp-transport.js';
export type { AmqpTransportOptions } from './broker/amqp-transport.js';
export type { Transport, Delivery, PublishOptions, ConsumeOptions, Consumer } from './broker/transport.js';
