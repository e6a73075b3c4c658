import { z } from 'zod';
import { WarrenError, describeValue } from '../../errors.js';
import { assertScope } from '../../names.js';
import { parseDuration, type Duration } from '../../util/duration.js';

/** A Duration option (`'30s'`, or a number of seconds) at least `minMs`. */
const durationAtLeast = (minMs: number) =>
  z.custom<Duration>((value) => {
    try {
      return parseDuration(value, 'option', 'ERR_INVALID_OPTION') >= minMs;
    } catch {
      return false;
    }
  });

const AMQP_URL = /^amqps?:\/\/\S+$/;

/** What a broker address option accepts, in the words of its error message. */
export const AMQP_URLS_RULE = 'an amqp:// or amqps:// URL, or a non-empty array of them';

/**
 * One broker URL, or the URLs of a cluster's nodes: the transport connects to the first that
 * answers and, when that node goes away, to the next one (round robin). Shared by the
 * transport, `createScheduler({ amqpUrl })` and `createWorker({ amqpUrl })`.
 */
export const amqpUrlsSchema = z.custom<string | readonly string[]>(
  (value) =>
    typeof value === 'string'
      ? AMQP_URL.test(value)
      : Array.isArray(value) && value.length > 0 && value.every((url) => typeof url === 'string' && AMQP_URL.test(url)),
  AMQP_URLS_RULE,
);

/** Options of {@link AmqpTransport}, validated in one place; every default is here. Durations are `'30s'` or a number of seconds. */
export const amqpTransportOptionsSchema = z
  .object({
    /**
     * `amqp://user:pass@host:port/vhost` (or `amqps://`), or a list of them (the nodes of a
     * cluster): connections go to the first that answers and fail over to the next.
     */
    url: amqpUrlsSchema,
    /**
     * Scope whose delay topology serves queue names without a `.jobs.` part. Names of the
     * form `{scope}.jobs.{queue}` always use their own scope.
     */
    scope: z.string().optional(),
    /**
     * AMQP heartbeat. Below 30 s a busy event loop (GC, a CPU-bound handler) misses beats
     * and the broker drops a healthy connection. Whole seconds, 30 s to 1 h.
     * @default '30s'
     */
    heartbeat: z
      .custom<Duration>((value) => {
        try {
          const ms = parseDuration(value, 'heartbeat', 'ERR_INVALID_OPTION');
          return ms % 1000 === 0 && ms >= 30_000 && ms <= 3_600_000;
        } catch {
          return false;
        }
      })
      .default('30s'),
    /**
     * Publishes held (buffered or awaiting confirm) while disconnected before new ones are
     * rejected at once with ERR_BUFFER_FULL.
     * @default 10000
     */
    maxBufferedPublishes: z.number().int().min(1).default(10_000),
    /**
     * A publish (or dead-letter) the broker has not confirmed within this rejects with
     * ERR_TIMEOUT, so a caller never waits forever on a broker that is down (the scheduler's
     * tick, stop()). Not yet sent: it leaves the buffer. Already sent: a late confirm is
     * ignored; the message may still arrive (a duplicate trigger is harmless). A Duration
     * (`'30s'`, or a number of seconds), at least 100 ms.
     * @default '30s'
     */
    publishTimeout: durationAtLeast(100).default('30s'),
    /**
     * Type of the work, dead-letter and delay queues. Fixed once declared: RabbitMQ refuses a
     * redeclaration with other arguments (406 PRECONDITION_FAILED).
     * @default 'quorum'
     */
    queueType: z.enum(['quorum', 'classic']).default('quorum'),
    /**
     * TCP + AMQP handshake timeout of one connection attempt.
     * @default '10s'
     */
    connectTimeout: durationAtLeast(100).default('10s'),
    /**
     * Reconnect backoff: full jitter between `min` and an exponentially growing cap
     * bounded by `max` (re-opening a channel the server closed backs off up to 30 s
     * instead). A low cap
     * means a returning broker is used within about a second; a refused connection attempt
     * per second and process is nothing to a broker that is starting.
     * @default { min: '250ms', max: '1s' }
     */
    reconnect: z
      .object({
        min: durationAtLeast(0).default('250ms'),
        max: durationAtLeast(1).default('1s'),
      })
      .strict()
      .default({ min: '250ms', max: '1s' })
      .refine(
        (r) => parseDuration(r.min, 'reconnect.min', 'ERR_INVALID_OPTION') <= parseDuration(r.max, 'reconnect.max', 'ERR_INVALID_OPTION'),
        { message: 'min <= max', path: ['min'] },
      ),
  })
  .strict();

export type AmqpTransportOptions = z.input<typeof amqpTransportOptionsSchema>;

/** Options after validation, durations in ms (the heartbeat in whole seconds, as AMQP takes it). */
export interface ResolvedAmqpTransportOptions {
  /** The first of `urls`. */
  url: string;
  /** Every broker URL, in the order they are tried. */
  urls: readonly string[];
  scope: string | undefined;
  heartbeatSec: number;
  maxBufferedPublishes: number;
  publishTimeoutMs: number;
  queueType: 'quorum' | 'classic';
  connectTimeoutMs: number;
  reconnect: { minMs: number; maxMs: number };
}

const EXPECTED: Record<string, string> = {
  url: AMQP_URLS_RULE,
  scope: 'a scope (1-40 characters of a-z, 0-9, "_" or "-")',
  heartbeat: 'a duration in whole seconds from 30s to 1h (such as "30s", or a number of seconds)',
  maxBufferedPublishes: 'an integer >= 1',
  publishTimeout: 'a duration >= 100ms (such as "30s", or a number of seconds)',
  queueType: '"quorum" or "classic"',
  connectTimeout: 'a duration >= 100ms (such as "10s", or a number of seconds)',
  'reconnect.min': 'a duration >= 0 and <= reconnect.max (such as "500ms", or a number of seconds)',
  'reconnect.max': 'a duration >= 1ms (such as "30s", or a number of seconds)',
  reconnect: 'an object { min, max }',
};

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

export function parseAmqpTransportOptions(input: AmqpTransportOptions): ResolvedAmqpTransportOptions {
  const parsed = amqpTransportOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.code === 'unrecognized_keys' ? [issue.keys[0] ?? ''] : (issue?.path ?? []);
    const field = path.map(String).join('.') || 'options';
    const expected = issue?.code === 'unrecognized_keys' ? 'no such option' : (EXPECTED[field] ?? issue?.message ?? 'a valid value');
    const received = field === 'url' ? redactUrl(valueAt(input, path)) : valueAt(input, path);
    throw new WarrenError(
      'ERR_INVALID_OPTION',
      `Invalid transport option \`${field}\`: expected ${expected}, got ${describeValue(received)}`,
      { field },
    );
  }
  const o = parsed.data;
  if (o.scope !== undefined) assertScope(o.scope, 'scope', 'ERR_INVALID_OPTION');
  const ms = (value: Duration, field: string) => parseDuration(value, field, 'ERR_INVALID_OPTION');
  const urls = typeof o.url === 'string' ? [o.url] : [...o.url];
  return {
    url: urls[0]!,
    urls,
    scope: o.scope,
    heartbeatSec: ms(o.heartbeat, 'heartbeat') / 1000,
    maxBufferedPublishes: o.maxBufferedPublishes,
    publishTimeoutMs: ms(o.publishTimeout, 'publishTimeout'),
    queueType: o.queueType,
    connectTimeoutMs: ms(o.connectTimeout, 'connectTimeout'),
    reconnect: { minMs: ms(o.reconnect.min, 'reconnect.min'), maxMs: ms(o.reconnect.max, 'reconnect.max') },
  };
}

/** Never print a password in an error or a log line (one URL, or each of a list). */
export function redactUrl(url: unknown): unknown {
  if (Array.isArray(url)) return url.map(redactUrl);
  return typeof url === 'string' ? url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@') : url;
}
