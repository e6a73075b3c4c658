/**
 * Cheap checks at the store boundary: a bad call fails with ERR_INVALID_ARGUMENT naming
 * the field, before any SQL runs (a Postgres cast error would name nothing useful).
 */
import { WarrenError, describeValue } from '../../errors.js';
import { assertName, assertScope } from '../../names.js';
import type { JobConfig } from '../../define/types.js';
import type { ClaimContext } from '../port.js';
import { CONFIG_KEYS } from './rows.js';

export function fail(field: string, rule: string, value: unknown): never {
  throw new WarrenError('ERR_INVALID_ARGUMENT', `Invalid \`${field}\`: expected ${rule}, got ${describeValue(value)}`, { field });
}

export function checkScope(value: unknown): string {
  return assertScope(value, 'scope', 'ERR_INVALID_ARGUMENT');
}

export function checkJobId(value: unknown, field = 'jobId'): string {
  return assertName(value, field, 'ERR_INVALID_ARGUMENT');
}

export function checkDate(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(field, 'a valid Date', value);
  return value;
}

export function checkDateOrNull(value: unknown, field: string): Date | null {
  return value === null ? null : checkDate(value, field);
}

export function checkPositiveInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(field, 'an integer >= 1', value);
  return value;
}

export function checkString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'a non-empty string', value);
  return value;
}

export function checkArray<T>(value: unknown, field: string): T[] {
  if (!Array.isArray(value)) fail(field, 'an array', value);
  return value as T[];
}

export function checkObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'an object', value);
  return value as Record<string, unknown>;
}

export function checkContext(ctx: unknown): ClaimContext {
  const c = checkObject(ctx, 'ctx');
  checkDate(c.now, 'ctx.now');
  if (typeof c.leaseMs !== 'number' || !Number.isFinite(c.leaseMs) || c.leaseMs <= 0) fail('ctx.leaseMs', 'a number of milliseconds > 0', c.leaseMs);
  checkString(c.workerId, 'ctx.workerId');
  return c as unknown as ClaimContext;
}

/** A full config (sync/upsert): every key present. */
export function checkConfig(value: unknown, field = 'config'): JobConfig {
  const config = checkObject(value, field);
  for (const key of CONFIG_KEYS) {
    if (config[key] === undefined) fail(`${field}.${key}`, 'a value (every JobConfig key is required)', undefined);
  }
  checkJobId(config.queue, `${field}.queue`);
  return config as unknown as JobConfig;
}

/** A patch: only known keys. Returns the keys given (undefined values are not patches). */
export function checkPatch(value: unknown): string[] {
  const patch = checkObject(value, 'patch');
  const keys: string[] = [];
  for (const [key, v] of Object.entries(patch)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) fail(`patch.${key}`, `one of the job settings (${CONFIG_KEYS.join(', ')})`, key);
    if (v !== undefined) keys.push(key);
  }
  if ('queue' in patch && patch.queue !== undefined) checkJobId(patch.queue, 'patch.queue');
  return keys;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Run ids are uuids; anything else cannot exist (so it is "not found", not an error that fails a whole batch). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
