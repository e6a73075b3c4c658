/**
 * The rule for each job setting, shared by `defineJob` (code), `parseJobInput` (JSON from
 * the control API) and `parseConfigPatch` (run-time changes), so all three accept and
 * reject the same values with the same words. Each throws a WarrenError naming the field:
 * ``Invalid `retry.maxAttempts`: expected an integer >= 1, got 0``.
 */
import { WarrenError, describeValue } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { typicalPeriod } from './schedule.js';
import type {
  CatchupMode,
  CatchupPolicy,
  DefinedSchedule,
  NormalizedBackoff,
  OverlapPolicy,
  RescheduleMode,
  RetentionPolicy,
  RetryPolicy,
  StalePolicy,
} from './types.js';

export type RuleCode = 'ERR_INVALID_JOB' | 'ERR_INVALID_OPTION' | 'ERR_INVALID_ARGUMENT';

const HOUR = 3_600_000;

export const OVERLAP_POLICIES = ['skip', 'bufferOne', 'bufferAll', 'cancelOther', 'allowAll'] as const satisfies readonly OverlapPolicy[];
export const RESCHEDULE_MODES = ['scheduler', 'queue'] as const satisfies readonly RescheduleMode[];
export const CATCHUP_MODES = ['none', 'latest', 'all'] as const satisfies readonly CatchupMode[];

/** The defaults of a job's settings (documented in docs/defining-jobs.md). */
export const JOB_DEFAULTS = {
  reschedule: 'scheduler' as RescheduleMode,
  timeoutMs: 5 * 60_000,
  maxAttempts: 3,
  backoff: { type: 'exponential', delayMs: 5_000, maxMs: 10 * 60_000, factor: 2, jitter: 0.2 } as NormalizedBackoff,
  overlap: 'skip' as OverlapPolicy,
  maxParallel: 1,
  catchupMode: 'latest' as CatchupMode,
  catchupMax: 100,
  staleRatio: 0.8,
  enabled: true,
  runOnStartup: false,
} as const;

export function invalid(code: RuleCode, field: string, rule: string, value: unknown): never {
  throw new WarrenError(code, `Invalid \`${field}\`: expected ${rule}, got ${describeValue(value)}`, { field });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function plainObject(value: unknown, field: string, code: RuleCode, rule = 'an object'): Record<string, unknown> {
  if (!isPlainObject(value)) invalid(code, field, rule, value);
  return value;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known key closest to a typo (`shedule` → `schedule`), if one is close enough. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

export function unknownKeyRule(key: string, known: readonly string[]): string {
  const hint = suggestKey(key, known);
  return hint === undefined ? `one of the known fields (${known.join(', ')})` : `a known field (did you mean \`${hint}\`?)`;
}

/** Throws on the first key of `value` not in `known`. */
export function rejectUnknownKeys(value: Record<string, unknown>, known: readonly string[], prefix: string, code: RuleCode): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) invalid(code, prefix === '' ? key : `${prefix}.${key}`, unknownKeyRule(key, known), value[key]);
  }
}

export function oneOf<T extends string>(value: unknown, values: readonly T[], field: string, code: RuleCode): T {
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
    invalid(code, field, `one of ${values.map((v) => `"${v}"`).join(', ')}`, value);
  }
  return value as T;
}

export function integerAtLeast(value: unknown, min: number, field: string, code: RuleCode): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) invalid(code, field, `an integer >= ${min}`, value);
  return value;
}

export function boolean(value: unknown, field: string, code: RuleCode): boolean {
  if (typeof value !== 'boolean') invalid(code, field, 'true or false', value);
  return value;
}

export function description(value: unknown, field: string, code: RuleCode): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' || value.length > 1000) invalid(code, field, 'a string of at most 1000 characters', value);
  return value;
}

/** A duration strictly greater than zero, in ms. */
export function positiveDuration(value: unknown, field: string, code: RuleCode): number {
  const ms = typeof value === 'number' && value <= 0 ? 0 : parseDuration(value, field, code);
  if (ms <= 0) invalid(code, field, 'a duration > 0 such as "30s" or "5m"', value);
  return ms;
}

export function normalizeBackoff(value: unknown, field: string, code: RuleCode): NormalizedBackoff {
  const spec = plainObject(value, field, code, '{ type: "fixed" | "exponential", delay, ... }');
  const type = oneOf(spec.type, ['fixed', 'exponential'] as const, `${field}.type`, code);
  rejectUnknownKeys(spec, type === 'fixed' ? ['type', 'delay', 'jitter'] : ['type', 'delay', 'max', 'factor', 'jitter'], field, code);
  if (spec.delay === undefined) invalid(code, `${field}.delay`, 'a duration such as "5s"', spec.delay);
  const delayMs = parseDuration(spec.delay, `${field}.delay`, code);
  let jitter = type === 'fixed' ? 0 : JOB_DEFAULTS.backoff.jitter;
  if (spec.jitter !== undefined) {
    if (typeof spec.jitter !== 'number' || !(spec.jitter >= 0 && spec.jitter <= 1))
      invalid(code, `${field}.jitter`, 'a number from 0 to 1', spec.jitter);
    jitter = spec.jitter;
  }
  if (type === 'fixed') return { type, delayMs, maxMs: delayMs, factor: 1, jitter };
  let factor = JOB_DEFAULTS.backoff.factor;
  if (spec.factor !== undefined) {
    if (typeof spec.factor !== 'number' || !Number.isFinite(spec.factor) || spec.factor < 1)
      invalid(code, `${field}.factor`, 'a number >= 1', spec.factor);
    factor = spec.factor;
  }
  let maxMs = Math.max(JOB_DEFAULTS.backoff.maxMs, delayMs);
  if (spec.max !== undefined) {
    maxMs = parseDuration(spec.max, `${field}.max`, code);
    if (maxMs < delayMs) invalid(code, `${field}.max`, `a duration >= \`${field}.delay\``, spec.max);
  }
  return { type, delayMs, maxMs, factor, jitter };
}

/** `base` supplies what the spec leaves out (the defaults, or the current policy for a patch). */
export function normalizeRetry(value: unknown, field: string, code: RuleCode, base?: RetryPolicy): RetryPolicy {
  const fallback: RetryPolicy = base ?? { maxAttempts: JOB_DEFAULTS.maxAttempts, backoff: { ...JOB_DEFAULTS.backoff } };
  if (value === undefined) return { maxAttempts: fallback.maxAttempts, backoff: { ...fallback.backoff } };
  const spec = plainObject(value, field, code, '{ maxAttempts?, backoff? }');
  rejectUnknownKeys(spec, ['maxAttempts', 'backoff'], field, code);
  return {
    maxAttempts: spec.maxAttempts === undefined ? fallback.maxAttempts : integerAtLeast(spec.maxAttempts, 1, `${field}.maxAttempts`, code),
    backoff: spec.backoff === undefined ? { ...fallback.backoff } : normalizeBackoff(spec.backoff, `${field}.backoff`, code),
  };
}

/** The default catch-up window: a day's worth of periods, at least an hour. */
export function defaultCatchupWindow(schedule: DefinedSchedule | null): number {
  return schedule === null ? HOUR : Math.max(HOUR, 24 * typicalPeriod(schedule));
}

export function normalizeCatchup(value: unknown, schedule: DefinedSchedule | null, field: string, code: RuleCode): CatchupPolicy {
  const windowMs = defaultCatchupWindow(schedule);
  if (value === undefined) return { mode: JOB_DEFAULTS.catchupMode, windowMs, max: JOB_DEFAULTS.catchupMax };
  if (typeof value === 'string') return { mode: oneOf(value, CATCHUP_MODES, field, code), windowMs, max: JOB_DEFAULTS.catchupMax };
  const spec = plainObject(value, field, code, `one of ${CATCHUP_MODES.map((m) => `"${m}"`).join(', ')} or { mode, window?, max? }`);
  rejectUnknownKeys(spec, ['mode', 'window', 'max'], field, code);
  return {
    mode: oneOf(spec.mode, CATCHUP_MODES, `${field}.mode`, code),
    windowMs: spec.window === undefined ? windowMs : positiveDuration(spec.window, `${field}.window`, code),
    max: spec.max === undefined ? JOB_DEFAULTS.catchupMax : integerAtLeast(spec.max, 1, `${field}.max`, code),
  };
}

/** `undefined` → 0.8 × the period (the seed's TTL); `null` → never; a duration → fixed. */
export function normalizeStale(value: unknown, field: string, code: RuleCode): StalePolicy {
  if (value === undefined) return { kind: 'period', ratio: JOB_DEFAULTS.staleRatio };
  if (value === null) return { kind: 'never' };
  return { kind: 'fixed', ms: positiveDuration(value, field, code) };
}

/** The keys a retention policy may carry, as written. */
export const RETENTION_KEYS = ['maxAge', 'keepLast'] as const;

/**
 * `undefined`/`null` → the scope's default (`null` stored); `{ maxAge?, keepLast? }` → the
 * limits given, each `null` to lift that limit. `maxAge` is a duration >= 1s, `keepLast` an
 * integer >= 1 (the newest run of a job always stays).
 */
export function normalizeRetention(value: unknown, field: string, code: RuleCode): RetentionPolicy | null {
  if (value === undefined || value === null) return null;
  const spec = plainObject(value, field, code, '{ maxAge?, keepLast? } or null');
  rejectUnknownKeys(spec, RETENTION_KEYS, field, code);
  const policy: RetentionPolicy = {};
  if (spec.maxAge !== undefined) {
    if (spec.maxAge === null) policy.maxAgeMs = null;
    else {
      const ms = typeof spec.maxAge === 'number' && spec.maxAge < 1 ? 0 : parseDuration(spec.maxAge, `${field}.maxAge`, code);
      if (ms < 1000) invalid(code, `${field}.maxAge`, 'a duration >= 1s such as "30d", or null', spec.maxAge);
      policy.maxAgeMs = ms;
    }
  }
  if (spec.keepLast !== undefined)
    policy.keepLast = spec.keepLast === null ? null : integerAtLeast(spec.keepLast, 1, `${field}.keepLast`, code);
  return policy;
}

/** Re-throws a rule's error with a different field name and message prefix. */
export function renameError(
  error: unknown,
  rename: (field: string) => string,
  prefix: (field: string) => string,
  code?: RuleCode,
): unknown {
  if (!(error instanceof WarrenError) || error.field === undefined) return error;
  const field = rename(error.field);
  const rest = error.message.replace(/^Invalid `[^`]*`: /, '');
  return new WarrenError(code ?? error.code, `${prefix(field)}: ${rest}`, { field, cause: error.cause, details: error.details });
}
