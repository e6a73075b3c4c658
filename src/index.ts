export { WarrenError, NonRetryableError, RetryAfterError, isWarrenError } from './errors.js';
export type { WarrenErrorCode, WarrenErrorOptions } from './errors.js';
export { SystemClock, systemClock } from './clock.js';
export type { Clock, Timer } from './clock.js';
export type { Duration } from './util/duration.js';
export type * from './define/types.js';
