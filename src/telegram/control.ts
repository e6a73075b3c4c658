/**
 * What the Telegram commands need of the one control type (`Control`): a scheduler, the
 * HTTP admin client or the harness fits.
 */
import type { Control, JobStatus } from '../scheduler/control-types.js';
import type { RunRecord } from '../store/port.js';

export type TelegramControl = Pick<Control, 'list' | 'get' | 'pause' | 'resume' | 'runNow' | 'runs'>;
/** The fields of a job's status line the replies show. */
export type TelegramJobStatus = Pick<
  JobStatus,
  | 'id'
  | 'enabled'
  | 'pauseNote'
  | 'schedule'
  | 'reschedule'
  | 'nextDueAt'
  | 'lastRunAt'
  | 'lastStatus'
  | 'running'
  | 'recentFailures'
  | 'description'
>;
/** The fields of a run the replies show. */
export type TelegramRun = Pick<RunRecord, 'runId' | 'status' | 'triggerSource' | 'scheduledFor' | 'availableAt' | 'finishedAt' | 'error'>;
