export { Scheduler, createScheduler } from './scheduler.js';
export type { SchedulerEvents } from './scheduler.js';
export type { SchedulerOptions, SchedulerRole, ResolvedSchedulerOptions } from './options.js';
export type {
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
} from './control-types.js';
export { RUN_STATUSES } from './control-types.js';
export { MAX_BACKFILL_SLOTS } from './control.js';
export type { TickSummary } from './tick.js';
export type { ReapedRun } from './reaper.js';
export type { PruneSummary } from './retention.js';
export { planSlots } from './plan.js';
export type { PlanCounts, SlotPlan } from './plan.js';
