import { z } from 'zod';
import { WarrenError, describeValue } from '../../errors.js';
import { assertScope } from '../../names.js';
import { parseDuration, type Duration } from '../../util/duration.js';

/** Options of {@link AmqpTransport}, validated in one place; every default is here. */
export const amqpTransportOptionsSchema = z
  .object({
    /** `amqp://user:pass@host:port/vhost` (or `amqps://`). */
    url: z.string().regex(/^amqps?:\/\/\S+$/),
    /**
     * Scope whose delay topology serves queue names without a `.jobs.` part. Names of the
     * form `{scope}.jobs.{queue}` always use their own scope.
     */
    scope: z.string().optional(),
    /**
     * AMQP heartbeat. Below 30 s a busy event loop (GC, a CPU-bound handler) misses beats
     * and the broker drops a healthy connection.
     * @default 30
     */
    heartbeatSec: z.number().int().min(30).max(3600).default(30),
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
    publishTimeout: z
      .custom<Duration>((value) => {
        try {
          return parseDuration(value, 'publishTimeout', 'ERR_INVALID_OPTION') >= 100;
        } catch {
          return false;
        }
      })
      .default('30s'),
    /**
     * Type of the work, dead-letter and delay queues. Fixed once declared: RabbitMQ refuses a
     * redeclaration with other arguments (406 PRECONDITION_FAILED).
     * @default 'quorum'
     */
    queueType: z.enum(['quorum', 'classic']).default('quorum'),
    /**
     * TCP + AMQP handshake timeout of one connection attempt.
     * @default 10000
     */
    connectTimeoutMs: z.number().int().min(100).default(10_000),
    /**
     * Reconnect backoff: full jitter between `minMs` and an exponentially growing cap
     * bounded by `maxMs` (re-opening a channel the server closed backs off up to 30 s
     * instead). A low cap
     * means a returning broker is used within about a second; a refused connection attempt
     * per second and process is nothing to a broker that is starting.
     * @default { minMs: 250, maxMs: 1000 }
     */
    reconnect: z
      .object({
        minMs: z.number().int().min(0).default(250),
        maxMs: z.number().int().min(1).default(1_000),
      })
      .default({ minMs: 250, maxMs: 1_000 })
      .refine((r) => r.minMs <= r.maxMs, { message: 'minMs <= maxMs', path: ['minMs'] }),
  })
  .strict();

export type AmqpTransportOptions = z.input<typeof amqpTransportOptionsSchema>;
export type ResolvedAmqpTransportOptions = z.output<typeof amqpTransportOptionsSchema>;

const EXPECTED: Record<string, string> = {
  url: 'an amqp:// or amqps:// URL',
  scope: 'a scope (1-40 characters of a-z, 0-9, "_" or "-")',
  heartbeatSec: 'an integer number of seconds from 30 to 3600',
  maxBufferedPublishes: 'an integer >= 1',
  publishTimeout: 'a duration >= 100ms (such as "30s", or a number of seconds)',
  queueType: '"quorum" or "classic"',
  connectTimeoutMs: 'an integer number of milliseconds >= 100',
  'reconnect.minMs': 'an integer number of milliseconds >= 0 and <= reconnect.maxMs',
  'reconnect.maxMs': 'an integer number of milliseconds >= 1',
  reconnect: 'an object { minMs, maxMs }',
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
    throw new WarrenError('ERR_INVALID_OPTION', `Invalid transport option \`${field}\`: expected ${expected}, got ${describeValue(received)}`, { field });
  }
  if (parsed.data.scope !== undefined) assertScope(parsed.data.scope, 'scope', 'ERR_INVALID_OPTION');
  return parsed.data;
}

/** Never print a password in an error or a log line. */
export function redactUrl(url: unknown): unknown {
  return typeof url === 'string' ? url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@') : url;
}
