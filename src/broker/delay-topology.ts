/**
 * The plugin-free RabbitMQ delay topology (NServiceBus / kombu design): 28 binary levels,
 * level L a topic exchange and a queue whose `x-message-ttl` is 2^L s, dead-lettering to
 * level L-1 and finally to a delivery exchange. A delay's bits, written into the routing
 * key, decide at each level whether the message waits there or passes straight down.
 * See docs/delay-topology.md.
 */
import { parseOptions } from '../util/options.js';
import { z } from 'zod';
import { WarrenError, describeValue } from '../errors.js';

/** Number of binary levels: delays from 0 to 2^28-1 s (about 8.5 years). */
export const DELAY_LEVELS = 28;
/** The longest delay, in seconds. */
export const MAX_DELAY_SEC = 2 ** DELAY_LEVELS - 1;

export type DelayQueueType = 'quorum' | 'classic';

export interface DelayTopologyOptions {
  /** Prefix of every exchange and queue, e.g. `delayPrefix(scope)` = `{scope}.delay`. */
  prefix: string;
  /**
   * Queue type of the level and unroutable queues. Quorum survives a node loss in a cluster.
   * @default 'quorum'
   */
  queueType?: DelayQueueType;
}

export interface DelayExchange {
  name: string;
  type: 'topic' | 'fanout';
  arguments: Record<string, unknown>;
}

export interface DelayQueue {
  name: string;
  arguments: Record<string, unknown>;
}

export interface DelayBinding {
  /** `queue`: bindQueue(destination, source); `exchange`: bindExchange(destination, source). */
  kind: 'queue' | 'exchange';
  source: string;
  destination: string;
  pattern: string;
}

/** What `assert` needs: an amqplib Channel/ConfirmChannel (or anything shaped like one). */
export interface TopologyChannel {
  assertExchange(
    exchange: string,
    type: string,
    options?: { durable?: boolean; autoDelete?: boolean; arguments?: unknown },
  ): Promise<unknown>;
  assertQueue(queue: string, options?: { durable?: boolean; arguments?: unknown }): Promise<unknown>;
  bindQueue(queue: string, source: string, pattern: string, args?: unknown): Promise<unknown>;
  bindExchange(destination: string, source: string, pattern: string, args?: unknown): Promise<unknown>;
}

/** What `publish` needs: an amqplib (Confirm)Channel, or amqp-connection-manager's ChannelWrapper. */
export interface PublishChannel {
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options?: Record<string, unknown>,
    callback?: (err: unknown) => void,
  ): unknown;
}

export interface DelayPublishOptions {
  /** Whole seconds, "not before": fractions round up, negatives are 0. */
  delay: number;
  messageId?: string;
  /** Built from scratch; `x-death` and friends are stripped anyway. */
  headers?: Record<string, unknown>;
}

export interface DelayTopology {
  readonly prefix: string;
  readonly queueType: DelayQueueType;
  /** Where delayed messages are published: the top level's exchange. */
  readonly entryExchange: string;
  /** Where level 0 delivers: target queues bind here. */
  readonly deliveryExchange: string;
  /** Alternate exchange of the delivery exchange (fanout) and its queue. */
  readonly unroutableExchange: string;
  readonly unroutableQueue: string;
  readonly exchanges: readonly DelayExchange[];
  readonly queues: readonly DelayQueue[];
  readonly bindings: readonly DelayBinding[];
  /** Declares every exchange, queue and binding. Idempotent (same arguments every time). */
  assert(channel: TopologyChannel): Promise<void>;
  /** Binds a target queue to the delivery exchange (28 `*` words, then its name). */
  bindTarget(channel: TopologyChannel, queue: string): Promise<void>;
  /** The binding pattern of a target queue on the delivery exchange. */
  targetPattern(queue: string): string;
  /** The routing key of a delayed message; throws ERR_DELAY_OUT_OF_RANGE past 2^28-1 s. */
  routingKey(delaySeconds: number, queue: string): string;
  /**
   * Publishes `body` to `queue` after `delay` seconds: persistent, never `expiration`, headers
   * cleaned of `x-death`. Resolves once written (or confirmed, on a confirm channel).
   */
  publish(channel: PublishChannel, queue: string, body: Buffer, options: DelayPublishOptions): Promise<void>;
}

const PREFIX = /^[a-z0-9][a-z0-9._-]{0,99}$/i;
const PREFIX_RULE = '1-100 characters of letters, digits, ".", "_" or "-" (not starting with "amq.")';

const optionsSchema = z.object({
  prefix: z
    .string({ error: PREFIX_RULE })
    .regex(PREFIX, PREFIX_RULE)
    .refine((value) => !value.startsWith('amq.'), PREFIX_RULE),
  queueType: z.enum(['quorum', 'classic']).default('quorum'),
});

/**
 * Normalises a delay to whole seconds, "not before": negative → 0, fractions round up.
 * Throws ERR_DELAY_OUT_OF_RANGE for a non-number or more than 2^28-1 s.
 */
export function normalizeDelaySec(delaySeconds: number): number {
  if (typeof delaySeconds !== 'number' || Number.isNaN(delaySeconds)) {
    throw new WarrenError(
      'ERR_DELAY_OUT_OF_RANGE',
      `Invalid delay: expected a number of seconds from 0 to ${MAX_DELAY_SEC}, got ${describeValue(delaySeconds)}`,
      { field: 'delay' },
    );
  }
  if (delaySeconds <= 0) return 0;
  const whole = Math.ceil(delaySeconds);
  if (whole > MAX_DELAY_SEC) {
    throw new WarrenError(
      'ERR_DELAY_OUT_OF_RANGE',
      `Invalid delay: expected at most ${MAX_DELAY_SEC} s (2^28-1), got ${describeValue(delaySeconds)}`,
      {
        field: 'delay',
        details: { max: MAX_DELAY_SEC },
      },
    );
  }
  return whole;
}

/**
 * Headers RabbitMQ adds when it dead-letters. Republishing a copied `x-death` makes the
 * broker see a dead-letter cycle through the level queues and silently drop the message.
 */
const DEATH_HEADERS = /^x-(death|first-death-|last-death-)/;

/** A copy of `headers` without the dead-lettering bookkeeping of a previous trip. */
export function cleanHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!headers) return out;
  for (const [key, value] of Object.entries(headers)) {
    if (!DEATH_HEADERS.test(key) && value !== undefined) out[key] = value;
  }
  return out;
}

/** `n` words of `*.` : topic patterns address one bit of the routing key by position. */
function stars(n: number): string {
  return '*.'.repeat(n);
}

export function delayTopology(options: DelayTopologyOptions): DelayTopology {
  const { prefix, queueType } = parseOptions(optionsSchema, options ?? {}, { label: 'delayTopology option' });

  const levelExchange = (level: number) => `${prefix}.L${level}`;
  const deliveryExchange = `${prefix}.deliver`;
  const unroutableExchange = `${prefix}.unroutable`;
  const unroutableQueue = `${prefix}.unroutable`;
  const entryExchange = levelExchange(DELAY_LEVELS - 1);
  const typeArgs: Record<string, unknown> = { 'x-queue-type': queueType };

  const exchanges: DelayExchange[] = [
    { name: unroutableExchange, type: 'fanout', arguments: {} },
    // The alternate exchange catches a delayed message whose target queue was deleted;
    // without it an at-least-once quorum level 0 would retry dead-lettering it forever.
    { name: deliveryExchange, type: 'topic', arguments: { 'alternate-exchange': unroutableExchange } },
  ];
  const queues: DelayQueue[] = [{ name: unroutableQueue, arguments: { ...typeArgs } }];
  const bindings: DelayBinding[] = [{ kind: 'queue', source: unroutableExchange, destination: unroutableQueue, pattern: '' }];

  for (let level = DELAY_LEVELS - 1; level >= 0; level--) {
    const exchange = levelExchange(level);
    const next = level === 0 ? deliveryExchange : levelExchange(level - 1);
    exchanges.push({ name: exchange, type: 'topic', arguments: {} });
    const args: Record<string, unknown> = {
      ...typeArgs,
      'x-message-ttl': 2 ** level * 1000,
      // No x-dead-letter-routing-key: the message keeps its routing key down the levels.
      'x-dead-letter-exchange': next,
    };
    if (queueType === 'quorum') {
      // At-least-once dead-lettering needs reject-publish overflow (RabbitMQ 3.10+).
      args['x-dead-letter-strategy'] = 'at-least-once';
      args['x-overflow'] = 'reject-publish';
    }
    queues.push({ name: exchange, arguments: args });
    // Bit `level` is word (27 - level) of the routing key (most significant first).
    const position = stars(DELAY_LEVELS - 1 - level);
    bindings.push({ kind: 'queue', source: exchange, destination: exchange, pattern: `${position}1.#` });
    bindings.push({ kind: 'exchange', source: exchange, destination: next, pattern: `${position}0.#` });
  }

  const targetPattern = (queue: string) => `${stars(DELAY_LEVELS)}${queue}`;

  const routingKey = (delaySeconds: number, queue: string): string => {
    const delay = normalizeDelaySec(delaySeconds);
    const bits = delay.toString(2).padStart(DELAY_LEVELS, '0').split('').join('.');
    return `${bits}.${queue}`;
  };

  return {
    prefix,
    queueType,
    entryExchange,
    deliveryExchange,
    unroutableExchange,
    unroutableQueue,
    exchanges,
    queues,
    bindings,
    targetPattern,
    routingKey,
    async assert(channel) {
      for (const exchange of exchanges) {
        await channel.assertExchange(exchange.name, exchange.type, { durable: true, autoDelete: false, arguments: exchange.arguments });
      }
      for (const queue of queues) {
        await channel.assertQueue(queue.name, { durable: true, arguments: queue.arguments });
      }
      for (const binding of bindings) {
        if (binding.kind === 'queue') await channel.bindQueue(binding.destination, binding.source, binding.pattern);
        else await channel.bindExchange(binding.destination, binding.source, binding.pattern);
      }
    },
    async bindTarget(channel, queue) {
      await channel.bindQueue(queue, deliveryExchange, targetPattern(queue));
    },
    async publish(channel, queue, body, publishOptions) {
      const key = routingKey(publishOptions.delay, queue);
      // Never `expiration`: a per-message TTL would expire it at the first level it waits in.
      const props: Record<string, unknown> = { persistent: true, headers: cleanHeaders(publishOptions.headers) };
      if (publishOptions.messageId !== undefined) props.messageId = publishOptions.messageId;
      const isConfirm = typeof (channel as { waitForConfirms?: unknown }).waitForConfirms === 'function';
      if (isConfirm) {
        await new Promise<void>((resolve, reject) => {
          channel.publish(entryExchange, key, body, props, (err) => (err ? reject(err) : resolve()));
        });
        return;
      }
      await channel.publish(entryExchange, key, body, props);
    },
  };
}
