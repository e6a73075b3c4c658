/** What every side of worker-throughput reports. */
export interface ThroughputResult {
  side: string;
  jobs: number;
  concurrency: number;
  /** Time to enqueue every job before consuming starts (publish with confirms / insert). */
  enqueueMs: number;
  /** First delivery → last job recorded done (the measured figure). */
  drainMs: number;
  jobsPerSec: number;
  notes: string[];
}

/** A side that cannot run yet (the code it measures has not landed). */
export class SideNotReady extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SideNotReady';
  }
}

/**
 * A no-op job's message: the same fields and size as warren's envelope, so the raw
 * amqplib side moves the same bytes as the warren side.
 */
export function sampleBody(i: number, scope: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: 1,
      job_id: 'noop',
      scope,
      run_id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      attempt: 1,
      trigger_source: 'manual',
      params: {},
      scheduled_for: new Date().toISOString(),
      stale_at: null,
      epoch: 0,
      next_delay_sec: null,
      timeout_sec: 300,
      max_attempts: 3,
    }),
  );
}

export function elapsedSince(start: number): number {
  return performance.now() - start;
}

/** Rejects after `ms` with a message naming what did not finish (every bench is bounded in time). */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not finished within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
