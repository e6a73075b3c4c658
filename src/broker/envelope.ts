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
