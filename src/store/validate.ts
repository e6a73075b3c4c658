/**
 * The primitive checks at the store boundary, shared by PgStore and MemoryStore: a bad
 * call fails with ERR_INVALID_ARGUMENT naming the field (a dotted path), before anything
 * is written (in Postgres, before any SQL runs: a cast error would name nothing useful).
 */
import { WarrenError, describeValue } from '../errors.js';
import { assertName, assertScope } from '../names.js';

export function fail(field: string, rule: string, value: unknown): never {
  throw new WarrenError('ERR_INVALID_ARGUMENT', `Invalid \`${field}\`: expected ${rule}, got ${describeValue(value)}`, { field });
}

/** The error a write to a job that does not exist gets, from either store. */
export function jobNotFound(scope: string, jobId: string): WarrenError {
  return new WarrenError('ERR_JOB_NOT_FOUND', `Job \`${jobId}\` not found in scope \`${scope}\``, {
    field: 'jobId',
    details: { scope, jobId },
  });
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

export function checkInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(field, 'an integer', value);
  return value;
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Run ids are uuids; anything else cannot exist (so it is "not found", not an error that fails a whole batch). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
