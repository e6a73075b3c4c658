/** Job configs and runs for the PgStore tests (the contract has its own in test/contract). */
import type { JobConfig } from '../../src/define/types.js';
import type { NewRun } from '../../src/store/port.js';

export const T0 = new Date('2026-03-01T00:00:00.000Z');

export function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

export function config(overrides: Partial<JobConfig> = {}): JobConfig {
  return {
    queue: 'default',
    schedule: { kind: 'every', everyMs: 1000 },
    reschedule: 'scheduler',
    params: {},
    enabled: true,
    timeoutMs: 60_000,
    retry: { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 1000, maxMs: 1000, factor: 1, jitter: 0 } },
    overlap: 'allowAll',
    maxParallel: 1,
    catchup: { mode: 'all', windowMs: 3_600_000, max: 1000 },
    stale: { kind: 'never' },
    description: null,
    runOnStartup: false,
    retention: null,
    ...overrides,
  };
}

export function pendingRun(runId: string, jobId: string, scheduledFor: Date, overrides: Partial<NewRun> = {}): NewRun {
  return {
    runId,
    jobId,
    scheduledFor,
    triggerSource: 'scheduler',
    params: {},
    epoch: 0,
    status: 'pending',
    staleAt: null,
    availableAt: scheduledFor,
    ...overrides,
  };
}
