import type { NewRun, JobRecord } from '../store/port.js';
import { uuidv5 } from '../util/uuid.js';
import { staleAtFor } from '../define/schedule.js';

/** Replicas that boot within the same minute share this window, hence one startup run. */
export const BOOT_WINDOW_MS = 60_000;

/**
 * The `startup` run of a `runOnStartup` job: its id is derived from the boot window, so
 * replicas booting together insert it once (`insertRuns` returns only new rows).
 */
export function startupRun(scope: string, job: JobRecord, now: number): NewRun {
  const bootWindow = Math.floor(now / BOOT_WINDOW_MS);
  const at = new Date(now);
  return {
    runId: uuidv5(`${scope}|${job.jobId}|startup|${bootWindow}`),
    jobId: job.jobId,
    scheduledFor: at,
    triggerSource: 'startup',
    params: job.params,
    epoch: job.epoch,
    status: 'pending',
    staleAt: staleAtFor(job, at, true),
    availableAt: at,
  };
}
