import { expect } from 'vitest';
import type { JobConfig } from '../../src/define/types.js';
import type { ClaimContext, JobRecord, NewRun, RunRecord, Store } from '../../src/store/port.js';
import { uuidv5 } from '../../src/util/uuid.js';
import { uniqueToken } from '../helpers/env.js';

/** Every instant in the contract is fixed: the store takes `now` as a parameter, never the wall clock. */
export const T0 = new Date('2026-01-01T00:00:00Z');

/** T0 plus `sec` seconds. */
export function at(sec: number): Date {
  return new Date(T0.getTime() + sec * 1000);
}

export interface ContractContext {
  store(): Store;
  /** A fresh scope for one test, so tests share one store without seeing each other. */
  scope(label?: string): string;
}

export function freshScope(label = 'sc'): string {
  return uniqueToken(label);
}

/** A unique, valid run id for this scope (ids are global in the store, so the scope goes in). */
export function runId(scope: string, name: string): string {
  return uuidv5(`contract|${scope}|${name}`);
}

export function jobConfig(overrides: Partial<JobConfig> = {}): JobConfig {
  return {
    queue: 'default',
    schedule: { kind: 'every', everyMs: 60_000 },
    reschedule: 'scheduler',
    params: { greeting: 'hello', nested: { n: 1 } },
    enabled: true,
    timeoutMs: 300_000,
    retry: { maxAttempts: 3, backoff: { type: 'exponential', delayMs: 5000, maxMs: 600_000, factor: 2, jitter: 0.2 } },
    overlap: 'skip',
    maxParallel: 1,
    catchup: { mode: 'latest', windowMs: 3_600_000, max: 100 },
    stale: { kind: 'period', ratio: 0.8 },
    description: null,
    runOnStartup: false,
    retention: null,
    ...overrides,
  };
}

export function newRun(job: Pick<JobRecord, 'jobId' | 'epoch'>, id: string, overrides: Partial<NewRun> = {}): NewRun {
  return {
    runId: id,
    jobId: job.jobId,
    scheduledFor: T0,
    triggerSource: 'scheduler',
    params: { p: 1 },
    epoch: job.epoch,
    status: 'pending',
    staleAt: null,
    availableAt: T0,
    ...overrides,
  };
}

export async function seedJob(
  store: Store,
  scope: string,
  jobId: string,
  overrides: Partial<JobConfig> = {},
  nextDueAt: Date | null = at(60),
): Promise<JobRecord> {
  return store.syncJob(scope, jobId, jobConfig(overrides), { now: T0, nextDueAt });
}

let slotCounter = 0;

/** A distinct slot instant, since (scope, job_id, scheduled_for) is unique. */
export function nextSlot(): Date {
  slotCounter += 1;
  return at(-100_000 + slotCounter);
}

/** Inserts one pending run (through insertRuns, created at T0) and returns it as stored. */
export async function seedRun(
  store: Store,
  scope: string,
  job: JobRecord,
  name: string,
  overrides: Partial<NewRun> = {},
): Promise<RunRecord> {
  const inserted = await store.insertRuns(scope, [newRun(job, runId(scope, name), { scheduledFor: nextSlot(), ...overrides })], T0);
  expect(inserted).toHaveLength(1);
  return inserted[0]!;
}

export function ctx(now: Date, workerId = 'worker-a', leaseMs = 30_000): ClaimContext {
  return { now, workerId, leaseMs };
}

/** Claims one run and asserts it was claimed. */
export async function claimOne(store: Store, run: RunRecord, now: Date, workerId = 'worker-a', leaseMs = 30_000): Promise<RunRecord> {
  const [result] = await store.claimRuns([{ runId: run.runId, attempt: run.attempt }], ctx(now, workerId, leaseMs));
  expect(result?.outcome).toBe('claimed');
  return result!.run!;
}

export function sorted<T>(values: readonly T[]): T[] {
  return [...values].sort();
}
