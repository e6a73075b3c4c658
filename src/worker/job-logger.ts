import createDebug from 'debug';
import type { RunRecord } from '../store/port.js';
import type { Log } from '../util/logger.js';

export const workerDebug = createDebug('warren:worker');

/**
 * The fields every log line about a run carries, whoever writes it (the handler's
 * `ctx.log`, the worker's own lines about the run): so a log search by `run_id` or
 * `job_id` finds the whole story.
 */
export function runFields(run: Pick<RunRecord, 'jobId' | 'runId' | 'scope' | 'triggerSource' | 'attempt'>): Record<string, unknown> {
  return { job_id: run.jobId, run_id: run.runId, scope: run.scope, trigger_source: run.triggerSource, attempt: run.attempt };
}

/** The worker's log narrowed to one run. */
export function runLog(log: Log, run: Pick<RunRecord, 'jobId' | 'runId' | 'scope' | 'triggerSource' | 'attempt'>): Log {
  return log.child(runFields(run));
}
