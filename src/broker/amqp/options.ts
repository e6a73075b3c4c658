import { z } from 'zod';
import { formatDuration } from '../../util/duration.js';
import { duration, integer, parseOptions, scopeOption } from '../../util/options.js';

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
    scope: scopeOption.optional(),
    /**
     * AMQP heartbeat. Below 30 s a busy event loop (GC, a CPU-bound handler) misses beats
     * and the broker drops a healthy connection. Whole seconds, 30 s to 1 h.
     * @default '30s'
     */
    heartbeat: duration(30_000, { maxMs: 3_600_000, wholeSeconds: true }).default(30_000),
    /**
     * Publishes held (buffered or awaiting confirm) while disconnected before new ones are
     * rejected at once with ERR_BUFFER_FULL.
     * @default 10000
     */
    maxBufferedPublishes: integer(1, Number.MAX_SAFE_INTEGER).default(10_000),
    /**
     * A publish (or dead-letter) the broker has not confirmed within this rejects with
     * ERR_TIMEOUT, so a caller never waits forever on a broker that is down (the scheduler's
     * tick, stop()). Not yet sent: it leaves the buffer. Already sent: a late confirm is
     * ignored; the message may still arrive (a duplicate trigger is harmless). A Duration
     * (`'30s'`, or a number of seconds), at least 100 ms.
     * @default '30s'
     */
    publishTimeout: duration(100).default(30_000),
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
    connectTimeout: duration(100).default(10_000),
    /**
     * Reconnect backoff: `min` doubling to `max`, each delay randomised down by up to half
     * (re-opening a channel the server closed backs off up to 30 s instead). A low cap
     * means a returning broker is used within about a second; a refused connection attempt
     * per second and process is nothing to a broker that is starting.
     * @default { min: '250ms', max: '1s' }
     */
    reconnect: z
      .object({ min: duration(0).default(250), max: duration(1).default(1_000) }, { error: 'an object { min, max }' })
      .strict()
      .default({ min: 250, max: 1_000 })
      .superRefine((r, ctx) => {
        if (r.min > r.max)
          ctx.addIssue({ code: 'custom', path: ['min'], message: `a duration <= reconnect.max (${formatDuration(r.max)})` });
      }),
  })
  .strict()
  .transform((o) => ({
    /** The first of `urls`. */
    url: typeof o.url === 'string' ? o.url : o.url[0]!,
    /** Every broker URL, in the order they are tried. */
    urls: typeof o.url === 'string' ? [o.url] : [...o.url],
    scope: o.scope,
    /** In whole seconds, as AMQP takes it. */
    heartbeatSec: o.heartbeat / 1000,
    maxBufferedPublishes: o.maxBufferedPublishes,
    publishTimeoutMs: o.publishTimeout,
    queueType: o.queueType,
    connectTimeoutMs: o.connectTimeout,
    reconnect: { minMs: o.reconnect.min, maxMs: o.reconnect.max },
  }));

export type AmqpTransportOptions = z.input<typeof amqpTransportOptionsSchema>;

/** Options after validation, durations in ms (the heartbeat in whole seconds, as AMQP takes it). */
export type ResolvedAmqpTransportOptions = z.output<typeof amqpTransportOptionsSchema>;

export function parseAmqpTransportOptions(input: AmqpTransportOptions): ResolvedAmqpTransportOptions {
  return parseOptions(amqpTransportOptionsSchema, input ?? {}, {
    label: 'transport option',
    redact: redactUrlField('url'),
  });
}

/** A `parseOptions` redactor: the option `name` holds broker URLs, shown with their passwords masked. */
export function redactUrlField(name: string): (field: string, value: unknown) => unknown {
  return (field, value) => (field === name ? redactUrl(value) : value);
}

/** Never print a password in an error or a log line (one URL, or each of a list). */
export function redactUrl(url: unknown): unknown {
  if (Array.isArray(url)) return url.map(redactUrl);
  return typeof url === 'string' ? url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@') : url;
}
