/**
 * The store's boundary checks, as PgStore makes them (the contract pins the codes and
 * fields): a bad call fails with ERR_INVALID_ARGUMENT naming the field, before anything
 * is written.
 */
import type { JobConfigKey } from '../../define/types.js';
import { WarrenError, describeValue } from '../../errors.js';
import { assertName, assertScope } from '../../names.js';
import type { ClaimContext, ClaimRequest, Completion, NewRun } from '../port.js';

export const CONFIG_KEYS: readonly JobConfigKey[] = ['queue', 'schedule', 'reschedule', 'params', 'enabled', 'timeoutMs', 'retry', 'overlap', 'maxParallel', 'catchup', 'stale', 'description', 'runOnStartup'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function fail(field: string, rule: string, value: unknown): never {
  throw new WarrenError('ERR_INVALID_ARGUMENT', `Invalid \`${field}\`: expected ${rule}, got ${describeValue(value)}`, { field });
}

export function checkScope(value: unknown): void {
  assertScope(value, 'scope', 'ERR_INVALID_ARGUMENT');
}

export function checkJob(scope: unknown, jobId: unknown, field = 'jobId'): void {
  checkScope(scope);
  assertName(jobId, field, 'ERR_INVALID_ARGUMENT');
}

export function checkDate(value: unknown, field: string): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(field, 'a valid Date', value);
}

export function checkDateOrNull(value: unknown, field: string): void {
  if (value !== null) checkDate(value, field);
}

export function checkPositiveInt(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(field, 'an integer >= 1', value);
}

export function checkString(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'a non-empty string', value);
}

export function checkObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'an object', value);
  return value as Record<string, unknown>;
}

export function checkArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) fail(field, 'an array', value);
  return value;
}

export function checkConfig(value: unknown): void {
  const config = checkObject(value, 'config');
  for (const key of CONFIG_KEYS) if (config[key] === undefined) fail(`config.${key}`, 'a value (every JobConfig key is required)', undefined);
  assertName(config.queue, 'config.queue', 'ERR_INVALID_ARGUMENT');
}

export function checkPatch(value: unknown): void {
  const patch = checkObject(value, 'patch');
  for (const key of Object.keys(patch)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) fail(`patch.${key}`, `one of the job settings (${CONFIG_KEYS.join(', ')})`, key);
  }
  if (patch.queue !== undefined) assertName(patch.queue, 'patch.queue', 'ERR_INVALID_ARGUMENT');
}

export function checkJobOpts(opts: unknown): Record<string, unknown> {
  const o = checkObject(opts, 'opts');
  checkDate(o.now, 'opts.now');
  if (o.nextDueAt !== undefined) checkDateOrNull(o.nextDueAt, 'opts.nextDueAt');
  return o;
}

export function checkNewRuns(value: unknown, field: string): void {
  checkArray(value, field).forEach((item, i) => {
    const f = `${field}[${i}]`;
    const run = checkObject(item, f) as unknown as NewRun;
    if (typeof run.runId !== 'string' || !UUID.test(run.runId)) fail(`${f}.runId`, 'a uuid', run.runId);
    assertName(run.jobId, `${f}.jobId`, 'ERR_INVALID_ARGUMENT');
    checkDate(run.scheduledFor, `${f}.scheduledFor`);
    checkDate(run.availableAt, `${f}.availableAt`);
    checkDateOrNull(run.staleAt ?? null, `${f}.staleAt`);
    if (typeof run.epoch !== 'number' || !Number.isInteger(run.epoch)) fail(`${f}.epoch`, 'an integer', run.epoch);
    if (run.attempt !== undefined) checkPositiveInt(run.attempt, `${f}.attempt`);
  });
}

export function checkContext(ctx: unknown): void {
  const c = checkObject(ctx, 'ctx') as unknown as ClaimContext;
  checkDate(c.now, 'ctx.now');
  if (typeof c.leaseMs !== 'number' || !Number.isFinite(c.leaseMs) || c.leaseMs <= 0) fail('ctx.leaseMs', 'a number of milliseconds > 0', c.leaseMs);
  checkString(c.workerId, 'ctx.workerId');
}

export function checkRequests(value: unknown): void {
  checkArray(value, 'requests').forEach((item, i) => {
    const r = checkObject(item, `requests[${i}]`) as unknown as ClaimRequest;
    checkString(r.runId, `requests[${i}].runId`);
    checkPositiveInt(r.attempt, `requests[${i}].attempt`);
  });
}

export function checkCompletions(value: unknown): void {
  checkArray(value, 'completions').forEach((item, i) => {
    const f = `completions[${i}]`;
    const c = checkObject(item, f) as unknown as Completion;
    checkString(c.runId, `${f}.runId`);
    checkPositiveInt(c.attempt, `${f}.attempt`);
    const guard = checkObject(c.guard, `${f}.guard`);
    if ('workerId' in guard) checkString(guard.workerId, `${f}.guard.workerId`);
    else checkDate(guard.leaseExpiredBefore, `${f}.guard.leaseExpiredBefore`);
    checkDate(c.finishedAt, `${f}.finishedAt`);
    if (c.retryAt !== undefined) checkDate(c.retryAt, `${f}.retryAt`);
    if (c.next !== undefined) {
      checkObject(c.next, `${f}.next`);
      checkNewRuns([c.next.run], `${f}.next.run`);
      checkDate(c.next.nextDueAt, `${f}.next.nextDueAt`);
    }
  });
}
