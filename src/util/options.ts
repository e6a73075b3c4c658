/**
 * The options toolkit. Every factory validates its options with one zod schema that is
 * also the source of its types (`z.input` for what it accepts, `z.output` for what it
 * resolves to); these are the pieces those schemas share, so a rule, a default and its
 * message are written once: one zod-issue → WarrenError formatter ({@link parseOptions}),
 * one {@link duration} schema, the scope / schema-name rules, integers and duck types.
 */
import { z } from 'zod';
import { WarrenError, describeValue, type WarrenErrorCode } from '../errors.js';
import { DEFAULT_SCHEMA, SCHEMA_NAME, SCHEMA_RULE, SCOPE, SCOPE_RULE } from '../names.js';
import { formatDuration, parseDuration, type Duration } from './duration.js';

export interface ParseOptionsHow {
  /** @default 'ERR_INVALID_OPTION' */
  code?: WarrenErrorCode;
  /** Starts the message: `scheduler option` → ``Invalid scheduler option `leaseTtl`: …``. Without it: ``Invalid `note`: …`` (a request body). */
  label?: string;
  /** Masks a value before it is quoted (a URL carrying a password). */
  redact?: (field: string, value: unknown) => unknown;
}

function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

/** zod's own issues in warren's words; a message written in the schema wins over these. */
const houseStyle = (issue: z.core.$ZodRawIssue): string | undefined => {
  if (issue.code === 'invalid_type') return article(issue.expected);
  if (issue.code === 'invalid_value') {
    const values = issue.values.map((v) => JSON.stringify(v));
    return values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
  }
  return undefined;
};

/** The value at `path` in `input` (what an issue's path points at), undefined past a non-object. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * The one zod-issue → WarrenError formatter: the first issue (an unknown key first, as a
 * typo usually explains the rest) becomes ``Invalid <label> `<field>`: expected <rule>, got
 * <value>``, or ``Invalid <label> `<field>`: unknown option``. A custom issue may say what
 * was received in `params.got` (`'neither'`, `'both'`).
 */
export function optionsError(issues: readonly z.core.$ZodIssue[], input: unknown, how: ParseOptionsHow = {}): WarrenError {
  const code = how.code ?? 'ERR_INVALID_OPTION';
  const prefix = how.label === undefined ? 'Invalid' : `Invalid ${how.label}`;
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0] ?? '?'].map(String).join('.');
    return new WarrenError(code, `${prefix} \`${field}\`: unknown ${how.label === undefined ? 'field' : 'option'}`, { field });
  }
  const params = issue.code === 'custom' ? (issue.params as { got?: unknown; field?: unknown } | undefined) : undefined;
  const path = typeof params?.field === 'string' ? params.field.split('.') : issue.path;
  const value = valueAt(input, path);
  const field = path.map(String).join('.');
  const got =
    typeof params?.got === 'string'
      ? params.got
      : value === undefined && path.length > 0
        ? 'nothing'
        : describeValue(how.redact ? how.redact(field, value) : value);
  if (field === '') {
    const whole = how.label === undefined ? 'Invalid body' : `Invalid ${how.label}s`;
    return new WarrenError(code, `${whole}: expected ${issue.message}, got ${got}`, {
      field: how.label === undefined ? '(body)' : '(options)',
    });
  }
  return new WarrenError(code, `${prefix} \`${field}\`: expected ${issue.message}, got ${got}`, { field });
}

/** {@link parseOptions} without the throw: the output, or the error it would throw. */
export function tryParseOptions<S extends z.ZodType>(
  schema: S,
  input: unknown,
  how: ParseOptionsHow = {},
): { ok: true; value: z.output<S> } | { ok: false; error: WarrenError } {
  const parsed = schema.safeParse(input, { error: houseStyle });
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: optionsError(parsed.error.issues, input, how) };
}

/** Validates `input` with `schema` and returns its output; a bad value throws {@link optionsError}'s WarrenError. */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, how: ParseOptionsHow = {}): z.output<S> {
  const parsed = tryParseOptions(schema, input, how);
  if (parsed.ok) return parsed.value;
  throw parsed.error;
}

export interface DurationRule {
  /** The most accepted, in ms. */
  maxMs?: number;
  /** Only whole seconds (AMQP's heartbeat). */
  wholeSeconds?: boolean;
}

/** The rule of a {@link duration} option as messages quote it. */
export function durationRule(minMs: number, rule: DurationRule = {}): string {
  const bounds =
    rule.maxMs === undefined
      ? `a duration >= ${minMs === 0 ? '0' : formatDuration(minMs)}`
      : `a duration${rule.wholeSeconds ? ' in whole seconds' : ''} from ${formatDuration(minMs)} to ${formatDuration(rule.maxMs)}`;
  return `${bounds} (such as "30s", or a number of seconds)`;
}

/** The rule of a duration that must stay below another option: `a duration shorter than leaseTtl (15s)`. */
export function shorterThanRule(other: string, otherMs: number): string {
  return `a duration shorter than ${other} (${formatDuration(otherMs)})`;
}

/**
 * The one duration option: a string (`'500ms'`, `'30s'`, `'1h30m'`) or a number of
 * **seconds**, parsed to milliseconds, at least `minMs`. A default is the parsed value
 * (`.default(15_000)`), documented as the duration it is (`@default '15s'`).
 */
export function duration(minMs: number, rule: DurationRule = {}) {
  const message = durationRule(minMs, rule);
  return z
    .custom<Duration>((v) => typeof v === 'string' || typeof v === 'number', { error: message })
    .transform((value, ctx) => {
      let ms: number;
      try {
        ms = parseDuration(value, 'option', 'ERR_INVALID_OPTION');
      } catch {
        ms = Number.NaN;
      }
      const fits = ms >= minMs && (rule.maxMs === undefined || ms <= rule.maxMs) && (!rule.wholeSeconds || ms % 1000 === 0);
      if (!fits) {
        ctx.addIssue({ code: 'custom', message, input: value });
        return z.NEVER;
      }
      return ms;
    });
}

/** An integer from `min` to `max`, with that rule as its message. */
export function integer(min: number, max: number) {
  const error = `an integer from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** The scope option (`mock`, `real`, …): the rule of `names.ts`. */
export const scopeOption = z.string({ error: SCOPE_RULE }).regex(SCOPE, { error: SCOPE_RULE });

/** The Postgres schema option: the rule of `names.ts`. @default 'scheduler' */
export const schemaOption = z.string({ error: SCHEMA_RULE }).regex(SCHEMA_NAME, { error: SCHEMA_RULE }).default(DEFAULT_SCHEMA);

/** A duck-typed object (or function) with these methods: how options accept a pool, a store, a clock, a logger. */
export function hasFunctions(...names: string[]): (value: unknown) => boolean {
  return (value) =>
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    names.every((n) => typeof (value as Record<string, unknown>)[n] === 'function');
}

/** A `z.custom` accepting anything with these methods; `rule` is what the message says was expected. */
export function withFunctions<T>(rule: string, ...names: string[]) {
  return z.custom<T>(hasFunctions(...names), { error: rule });
}
