/**
 * What the Telegram commands need from the control API, structurally: a
 * `createScheduler()` instance fits, and so does a host's own wrapper.
 */

export interface TelegramActor {
  actor?: string | null;
}

/** The fields of a job's status line the replies show (a scheduler's `JobStatus`). */
export interface TelegramJobStatus {
  id: string;
  enabled: boolean;
  pauseNote: string | null;
  schedule: { kind: 'cron'; cron: string; tz: string } | { kind: 'every'; everyMs: number } | null;
  reschedule: string;
  nextDueAt: Date | string | null;
  lastRunAt: Date | string | null;
  lastStatus: string | null;
  running: number;
  recentFailures: number;
  description: string | null;
}

/** The fields of a run the replies show (a scheduler's `RunRecord`). */
export interface TelegramRun {
  runId: string;
  status: string;
  triggerSource: string;
  scheduledFor: Date | string;
  availableAt: Date | string;
  finishedAt: Date | string | null;
  error: string | null;
}

export interface TelegramControl {
  list(): Promise<TelegramJobStatus[]>;
  get(id: string): Promise<TelegramJobStatus>;
  pause(id: string, options?: TelegramActor & { note?: string | null }): Promise<TelegramJobStatus>;
  resume(id: string, options?: TelegramActor): Promise<TelegramJobStatus>;
  runNow(id: string, options?: TelegramActor & { params?: Record<string, unknown> }): Promise<TelegramRun>;
  runs(id: string, options?: { limit?: number }): Promise<TelegramRun[]>;
}
