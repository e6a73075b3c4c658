import { z } from 'zod';
import { parseOptions, tryParseOptions } from '../util/options.js';
import type { TriggerSource } from '../define/types.js';

/**
 * The job message: the seed's fields (`job_id`, `trigger_source`, `params`,
 * `next_delay_sec`, `timeout_sec`, `max_attempts`, `run_id`) plus what warren needs to
 * claim the run safely. A message is only a trigger; Postgres holds the run's state.
 */
export const ENVELOPE_VERSION = 1;

/** Params larger than this are refused (a trigger is not a payload store). */
export const MAX_MESSAGE_BYTES = 256 * 1024;

const TRIGGER_SOURCES = [
  'scheduler',
  'manual',
  'retry',
  'startup',
  'catchup',
  'backfill',
  'chain',
] as const satisfies readonly TriggerSource[];

/** The one statement of the format (the types come from it); {@link isJobMessageAsIs} mirrors it for the accepted case. */
export const jobMessageSchema = z
  .object({
    v: z.literal(ENVELOPE_VERSION),
    job_id: z.string().min(1).max(100),
    scope: z.string().min(1).max(40),
    run_id: z.uuid(),
    attempt: z.number().int().min(1),
    trigger_source: z.enum(TRIGGER_SOURCES),
    params: z.record(z.string(), z.unknown()),
    scheduled_for: z.iso.datetime({ offset: true }),
    stale_at: z.iso.datetime({ offset: true }).nullable(),
    epoch: z.number().int().min(0),
    next_delay_sec: z.number().min(0).nullable(),
    timeout_sec: z.number().positive(),
    max_attempts: z.number().int().min(1),
  })
  .strict();

export type JobMessage = z.infer<typeof jobMessageSchema>;

/** The regular expression zod tests a string-format field with; the fast check tests the same one. */
function patternOf(field: { def: { pattern?: RegExp | undefined } }): RegExp {
  // zod sets it when the field is built; a zod that no longer does fails here, at import, not by drifting.
  if (!field.def.pattern) throw new Error('envelope: a string-format field of jobMessageSchema has no pattern');
  return field.def.pattern;
}

const MESSAGE_KEYS: ReadonlySet<string> = new Set(Object.keys(jobMessageSchema.shape));
const SOURCES: ReadonlySet<unknown> = new Set(TRIGGER_SOURCES);
const RUN_ID = patternOf(jobMessageSchema.shape.run_id);
const SCHEDULED_FOR = patternOf(jobMessageSchema.shape.scheduled_for);
const STALE_AT = patternOf(jobMessageSchema.shape.stale_at.unwrap());

/** zod's `z.string().min(1).max(max)`: lengths count code points, a string of at most `max` UTF-16 units has at most `max`. */
function isString(value: unknown, max: number): boolean {
  return typeof value === 'string' && value.length > 0 && (value.length <= max || z.util.codePointLength(value) <= max);
}

/** zod's `z.number()`: a finite number. */
function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** zod's `z.number().int().min(min)`: `int()` is a safe integer. */
function isInteger(value: unknown, min: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min;
}

/**
 * {@link jobMessageSchema} written out by hand, so the accepted case (every delivery) costs
 * no zod parse, which copies the message and runs each rule through its machinery. It mirrors
 * the schema rule for rule: an object (zod's test: not null, not an array) with no key but
 * the schema's, each field read as zod reads it (`value[key]`; none takes undefined, so a
 * missing one is refused) and checked as the schema states it, with zod's regular expressions for the
 * uuid and the datetimes (read from the schema's fields) and zod's readings of a number
 * (finite), an integer (safe), a string's length (code points) and a record (a plain
 * object, `z.util.isPlainObject`). When it holds, the message is the parsed value itself.
 * It only ever accepts what the schema accepts, with the same output: a `params` carrying
 * its own `__proto__` key (which zod drops from its copy) is left to the schema, as is
 * every refusal, whose zod issue is the dead-letter reason. test/broker/envelope.test.ts
 * holds the two to each other; a change to the schema is a change here.
 */
export function isJobMessageAsIs(value: unknown): value is JobMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  // The schema is strict: zod refuses any key it enumerates (for...in) outside the shape.
  for (const key in value) if (!MESSAGE_KEYS.has(key)) return false;
  const m = value as Record<string, unknown>;
  return (
    m.v === ENVELOPE_VERSION &&
    isString(m.job_id, 100) &&
    isString(m.scope, 40) &&
    typeof m.run_id === 'string' &&
    RUN_ID.test(m.run_id) &&
    isInteger(m.attempt, 1) &&
    SOURCES.has(m.trigger_source) &&
    z.util.isPlainObject(m.params) &&
    !Object.hasOwn(m.params, '__proto__') &&
    typeof m.scheduled_for === 'string' &&
    SCHEDULED_FOR.test(m.scheduled_for) &&
    (m.stale_at === null || (typeof m.stale_at === 'string' && STALE_AT.test(m.stale_at))) &&
    isInteger(m.epoch, 0) &&
    (m.next_delay_sec === null || (isNumber(m.next_delay_sec) && m.next_delay_sec >= 0)) &&
    isNumber(m.timeout_sec) &&
    m.timeout_sec > 0 &&
    isInteger(m.max_attempts, 1)
  );
}

export function encodeMessage(message: JobMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

export type DecodeResult = { ok: true; message: JobMessage } | { ok: false; reason: string };

/** Never throws: a malformed message becomes a reason for the dead-letter queue. */
export function decodeMessage(body: Buffer): DecodeResult {
  if (body.length > MAX_MESSAGE_BYTES) return { ok: false, reason: `message too large: ${body.length} bytes > ${MAX_MESSAGE_BYTES}` };
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  // The hand check takes the valid message as parsed; the schema speaks only for the rest, so the reason is zod's issue.
  if (isJobMessageAsIs(value)) return { ok: true, message: value };
  const parsed = tryParseOptions(jobMessageSchema, value, { code: 'ERR_INVALID_MESSAGE', label: 'message field' });
  // `invalid message field `run_id`: expected …, got …` (the dead-letter reason, lower case after "malformed message: ").
  if (!parsed.ok) return { ok: false, reason: parsed.error.message.replace(/^Invalid/, 'invalid') };
  return { ok: true, message: parsed.value };
}

/** What a trigger carries of a run row (the store's RunRecord fits it; the broker does not know the store). */
export interface TriggerRun {
  runId: string;
  jobId: string;
  scope: string;
  attempt: number;
  triggerSource: TriggerSource;
  params: Record<string, unknown>;
  scheduledFor: Date;
  staleAt: Date | null;
  epoch: number;
}

/** Builds the trigger for a run row. */
export function messageForRun(run: TriggerRun, opts: { timeoutMs: number; maxAttempts: number; nextDelaySec: number | null }): JobMessage {
  return {
    v: ENVELOPE_VERSION,
    job_id: run.jobId,
    scope: run.scope,
    run_id: run.runId,
    attempt: run.attempt,
    trigger_source: run.triggerSource,
    params: run.params,
    scheduled_for: run.scheduledFor.toISOString(),
    stale_at: run.staleAt ? run.staleAt.toISOString() : null,
    epoch: run.epoch,
    next_delay_sec: opts.nextDelaySec,
    timeout_sec: Math.max(0.001, opts.timeoutMs / 1000),
    max_attempts: opts.maxAttempts,
  };
}

export function assertMessage(value: unknown): JobMessage {
  return parseOptions(jobMessageSchema, value, { code: 'ERR_INVALID_MESSAGE', label: 'message field' });
}

/**
 * Header of a trigger sent before its run is due (a slot the leader claimed ahead): the
 * run's `available_at` in epoch milliseconds. A worker holds the delivery until then and
 * claims it at the instant, so the slot path at the instant is a timer and a claim; a
 * worker that ignores the header claims at once, the store answers `early`, and the
 * trigger is re-sent through the delay topology.
 */
export const NOT_BEFORE_HEADER = 'x-warren-not-before';

/** The not-before instant a delivery's headers carry (epoch ms), or null when absent or not a finite number. */
export function notBeforeOf(headers: Record<string, unknown>): number | null {
  const value = headers[NOT_BEFORE_HEADER];
  const ms = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(ms) ? ms : null;
}
