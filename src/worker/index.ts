export { createWorker } from './worker.js';
export type { Worker, WorkerState } from './worker.js';
export type { WorkerOptions, WorkerJob, WorkerLogger, ResolvedWorkerOptions } from './options.js';
export type { WorkerEvents, WorkerStats, RunInfo } from './events.js';
export type { QueueHandlerOptions, QueueParams, WorkerQueue } from './handlers.js';
