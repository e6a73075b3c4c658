/**
 * One error hierarchy with a stable string `code`. `instanceof` breaks when two copies of
 * warren are loaded (a monorepo with two versions), so callers use {@link isWarrenError}.
 */
import { formatDuration, parseDuration, type Duration } from './util/duration.js';

export type WarrenErrorCode =
  | 'ERR_INVALID_JOB'
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_MESSAGE'
  | 'ERR_JOB_NOT_FOUND'
  | 'ERR_RUN_NOT_FOUND'
  | 'ERR_NOT_LEADER'
  | 'ERR_CONFLICT'
  | 'ERR_SCHEMA_TOO_NEW'
  | 'ERR_MIGRATION_FAILED'
  | 'ERR_DELAY_OUT_OF_RANGE'
  | 'ERR_PUBLISH_UNROUTABLE'
  | 'ERR_PUBLISH_NACKED'
  | 'ERR_BUFFER_FULL'
  | 'ERR_CLOSED'
  | 'ERR_NOT_READY'
  | 'ERR_TIMEOUT'
  | 'ERR_NON_RETRYABLE'
  | 'ERR_RETRY_AFTER'
  | 'ERR_UNAUTHORIZED'
  // Answered by the admin HTTP API (warren/http) and rebuilt by its client.
  | 'ERR_INVALID_JSON'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_ROUTE_NOT_FOUND'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_GONE'
  | 'ERR_INTERNAL'
  // Nothing answered (a broker, the admin API), or the answer is not the admin API's.
  | 'ERR_UNREACHABLE'
  | 'ERR_UNEXPECTED_RESPONSE';

const BRAND = Symbol.for('warren.error');

export interface WarrenErrorOptions {
  /** The field or option at fault, as a dotted path (`schedule.cron`, `retry.maxAttempts`). */
  field?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class WarrenError extends Error {
  readonly code: WarrenErrorCode;
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: WarrenErrorCode, message: string, options: WarrenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WarrenError';
    this.code = code;
    this.field = options.field;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, field: this.field, details: this.details };
  }
}

/** Thrown by a handler to fail the run at once: no retry, straight to the dead-letter queue. */
export class NonRetryableError extends WarrenError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_NON_RETRYABLE', message, options);
    this.name = 'NonRetryableError';
  }
}

/**
 * Thrown by a handler to retry after its own delay instead of the policy's backoff. The
 * delay is a duration like every other in warren: a number of **seconds**
 * (`new RetryAfterError(30)`) or a string (`'30s'`, `'500ms'`, `'5m'`).
 */
export class RetryAfterError extends WarrenError {
  /** The delay, parsed to milliseconds. */
  readonly delayMs: number;
  constructor(delay: Duration, message?: string, options: { cause?: unknown } = {}) {
    // Parsed before super() so a bad delay throws ERR_INVALID_ARGUMENT naming it, not a half-built error.
    const delayMs = parseDuration(delay, 'RetryAfterError delay', 'ERR_INVALID_ARGUMENT');
    super('ERR_RETRY_AFTER', message ?? `retry after ${formatDuration(delayMs)}`, options);
    this.name = 'RetryAfterError';
    this.delayMs = delayMs;
  }
}

export function isWarrenError(value: unknown, code?: WarrenErrorCode): value is WarrenError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (value as WarrenError).code === code;
}

export function isNonRetryable(value: unknown): boolean {
  return isWarrenError(value, 'ERR_NON_RETRYABLE');
}

export function retryAfterMs(value: unknown): number | undefined {
  return isWarrenError(value, 'ERR_RETRY_AFTER') ? (value as RetryAfterError).delayMs : undefined;
}

/** Renders a received value for an error message: short, and never throws. */
export function describeValue(value: unknown): string {
  try {
    if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
    if (typeof value === 'function') return 'a function';
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
