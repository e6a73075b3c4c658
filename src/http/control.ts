/**
 * The part of the scheduler's control API the admin handler calls, as a structural type:
 * any `createScheduler()` instance fits (leader or `role: 'control-only'`), and so does a
 * host's own wrapper (one that adds its own checks or logging), without warren/http
 * depending on the scheduler's internals. Results are sent as JSON as they come.
 */

/** Who did it, recorded in the audit table. */
export interface ControlActor {
  actor?: string | null;
}

/** The statuses a run can have (the store's `RunStatus`). */
export const RUN_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'dead', 'timed_out', 'expired', 'missed', 'skipped', 'cancelled'] as const;
export type RunStatusName = (typeof RUN_STATUSES)[number];

export interface AdminControl {
  list(): Promise<unknown>;
  get(id: string): Promise<unknown>;
  upsert(body: unknown, options?: ControlActor): Promise<unknown>;
  update(id: string, patch: unknown, options?: ControlActor): Promise<unknown>;
  remove(id: string, options?: ControlActor): Promise<unknown>;
  pause(id: string, options?: ControlActor & { note?: string | null }): Promise<unknown>;
  resume(id: string, options?: ControlActor): Promise<unknown>;
  runNow(id: string, options?: ControlActor & { params?: Record<string, unknown>; delay?: string | number }): Promise<unknown>;
  runs(id: string, options?: { limit?: number; status?: RunStatusName[] }): Promise<unknown>;
  backfill(id: string, options: ControlActor & { from: Date | string; to: Date | string }): Promise<unknown>;
  audit(options?: { jobId?: string; limit?: number }): Promise<unknown>;
}
