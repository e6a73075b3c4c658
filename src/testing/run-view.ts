import type { RunRecord } from '../store/port.js';
import type { HarnessAttempt, HarnessRun } from './types.js';

/** A store row as the harness reports it: earlier attempts from the history, the current one last. */
export function toHarnessRun(record: RunRecord): HarnessRun {
  const attempts: HarnessAttempt[] = record.attempts.map((a) => ({
    attempt: a.attempt,
    status: a.status,
    startedAt: a.startedAt,
    finishedAt: a.finishedAt,
    error: a.error,
    retryAt: a.retryAt,
    workerId: a.workerId,
  }));
  if (!attempts.some((a) => a.attempt === record.attempt)) {
    attempts.push({
      attempt: record.attempt,
      status: record.status,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      error: record.error,
      retryAt: null,
      workerId: record.workerId,
    });
  }
  return {
    runId: record.runId,
    jobId: record.jobId,
    status: record.status,
    attempt: record.attempt,
    triggerSource: record.triggerSource,
    scheduledFor: record.scheduledFor,
    availableAt: record.availableAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    error: record.error,
    params: record.params,
    workerId: record.workerId,
    attempts,
    record,
  };
}
