/**
 * The RabbitMQ transport: amqplib behind amqp-connection-manager, hardened (consume in the
 * setup function, ack on the delivering channel, confirms, bounded buffer). See docs/broker.md.
 */
import createDebug from 'debug';
import { AmqpConnectionManagerClass, type AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, Message } from 'amqplib';
import { WarrenError, isWarrenError } from '../errors.js';
import { deadQueueName } from '../names.js';
import { formatDuration } from '../util/duration.js';
import { SafeEmitter } from '../util/events.js';
import { cleanHeaders, normalizeDelaySec } from './delay-topology.js';
import type { Consumer, ConsumeOptions, DeliveryHandler, PublishOptions, Transport, TransportEvents } from './transport.js';
import { Backoff } from '../util/backoff.js';
import { AmqpConsumer } from './amqp/consumer.js';
import { ManagedChannel } from './amqp/managed-channel.js';
import { parseAmqpTransportOptions, redactUrl, type AmqpTransportOptions, type ResolvedAmqpTransportOptions } from './amqp/options.js';
import { TopologyRegistry } from './amqp/topology.js';

/**
 * A channel the server closed (a deleted queue or exchange, a refused declare) is an
 * answer, not an outage: its re-opening backs off up to 30 s, whatever the quick
 * `reconnect` pacing of the connection. Re-declaring a topology every second against a
 * broker that keeps refusing it only loads the broker.
 */
const CHANNEL_RECOVERY_MAX_MS = 30_000;

export type { AmqpTransportOptions } from './amqp/options.js';

const log = createDebug('warren:broker');

/** Per-publish correlation header: a returned message names the publish it belongs to. */
export const PUBLISH_ID_HEADER = 'x-warren-publish-id';

export interface AmqpTransportStats {
  /** Acks/nacks dropped because the delivery's channel had closed. */
  staleSettles: number;
  /** Publishes the broker returned as unroutable. */
  returned: number;
  /** Connections re-established after the first. */
  reconnects: number;
  /** Publishes sent again because their channel closed before the confirm. */
  publishRetries: number;
}

/** amqplib's errors for a publish whose channel closed before its confirm arrived. */
const CHANNEL_LOSS = /channel closed|channel ended|connection closed|unexpected close/i;
const MAX_PUBLISH_ATTEMPTS = 10;

/** The heartbeat in the URL wins over the manager's option: pin it to ours (>= 30 s). */
function withHeartbeat(url: string, heartbeatSec: number): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.set('heartbeat', String(heartbeatSec));
    return parsed.toString();
  } catch {
    return url;
  }
}

export class AmqpTransport implements Transport {
  readonly kind = 'amqp' as const;
  readonly options: ResolvedAmqpTransportOptions;
  readonly stats: AmqpTransportStats = { staleSettles: 0, returned: 0, reconnects: 0, publishRetries: 0 };

  #events = new SafeEmitter<TransportEvents>();
  #manager: AmqpConnectionManager;
  #backoff: Backoff;
  #topology: TopologyRegistry;
  #publisher: ManagedChannel;
  #queues = new Set<string>();
  #scopes = new Set<string>();
  #consumers = new Set<AmqpConsumer>();
  #pending = new Set<string>();
  #returned = new Set<string>();
  #publishSeq = 0;
  #publishToken = Math.random().toString(36).slice(2, 8);
  #closing: Promise<void> | undefined;
  #connectedOnce = false;
  #waiters = new Set<(err: unknown) => void>();
  #publishTimeoutMs: number;
  #connectedUrl: string | undefined;

  constructor(options: AmqpTransportOptions) {
    this.options = parseAmqpTransportOptions(options);
    this.#publishTimeoutMs = this.options.publishTimeoutMs;
    const { urls, heartbeatSec, connectTimeoutMs, reconnect, queueType, scope } = this.options;
    this.#topology = new TopologyRegistry(queueType, scope);
    this.#backoff = new Backoff({ delayMs: Math.max(1, reconnect.minMs), maxMs: reconnect.maxMs });
    // Nothing connects before this line runs, and nothing here throws for an unreachable
    // broker: the manager retries in the background (boot in any order). Given several URLs
    // (a cluster's nodes) it tries them round robin: each attempt, and each reconnect after a
    // connection closed, goes to the next URL of the list.
    const given = new Map(urls.map((url) => [withHeartbeat(url, heartbeatSec), url]));
    const shown = (url: unknown) => redactUrl(typeof url === 'string' ? (given.get(url) ?? url) : url) as string | undefined;
    this.#manager = new AmqpConnectionManagerClass([...given.keys()], {
      heartbeatIntervalInSeconds: heartbeatSec,
      reconnectTimeInSeconds: reconnect.minMs / 1000,
      // Nagle's algorithm holds small frames (acks, confirms) ~40 ms.
      connectionOptions: { noDelay: true, timeout: connectTimeoutMs, keepAlive: true },
    });
    this.#manager.on('connect', ({ url }: { url: unknown }) => {
      if (this.#connectedOnce) this.stats.reconnects++;
      this.#connectedOnce = true;
      this.#backoff.reset();
      this.#connectedUrl = shown(url);
      log('connected to %s', this.#connectedUrl);
      this.#events.emit('connect');
    });
    this.#manager.on('disconnect', ({ err }: { err?: Error }) => {
      this.#nextReconnectDelay();
      log('disconnected from %s: %s', this.#connectedUrl, err?.message ?? 'closed');
      this.#connectedUrl = undefined;
      if (!this.#closing) this.#events.emit('disconnect', err);
    });
    this.#manager.on('connectFailed', ({ err, url }: { err: Error; url?: unknown }) => {
      const delay = this.#nextReconnectDelay();
      log('connect to %s failed (%s); retrying in %d ms', shown(url), err.message, delay);
      if (!this.#closing) this.#events.emit('connectFailed', err);
    });
    this.#manager.on('blocked', ({ reason }: { reason: string }) => log('connection blocked by the broker: %s', reason));
    this.#manager.on('unblocked', () => log('connection unblocked'));

    this.#publisher = new ManagedChannel(this.#manager, {
      name: 'publish',
      confirm: true,
      backoff: new Backoff({ delayMs: Math.max(1, Math.min(100, reconnect.minMs)), maxMs: CHANNEL_RECOVERY_MAX_MS }),
      setup: (channel) => this.#setupPublisher(channel),
      onError: (err) => this.#events.emit('error', err),
    });
    this.#manager.connect().catch((err: Error) => {
      // Only bad credentials end up here; the manager keeps retrying regardless.
      log('connect: %s', err.message);
      this.#events.emit('error', err);
    });
  }

  /** amqp-connection-manager waits `reconnectTimeInSeconds` after each failure: feed it jittered backoff. */
  #nextReconnectDelay(): number {
    const delay = this.#backoff.next();
    this.#manager.reconnectTimeInSeconds = delay / 1000;
    return delay;
  }

  async #setupPublisher(channel: Channel): Promise<void> {
    channel.on('return', (msg: Message) => this.#onReturn(msg));
    // Declared before the wrapper flushes buffered publishes, so none races its queue.
    for (const scope of this.#scopes) await this.#topology.ensureScope(channel, scope);
    for (const queue of this.#queues) await this.#topology.declareWorkQueue(channel, queue);
  }

  #onReturn(msg: Message): void {
    const id = msg.properties.headers?.[PUBLISH_ID_HEADER];
    this.stats.returned++;
    // basic.return arrives before the basic.ack of the same publish: mark it, and the
    // confirm handler turns it into ERR_PUBLISH_UNROUTABLE.
    if (typeof id === 'string' && this.#pending.has(id)) this.#returned.add(id);
    const messageId = typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined;
    log('returned unroutable message %s to %s', messageId, msg.fields.routingKey);
    this.#events.emit('return', msg.fields.routingKey, messageId);
  }

  async assertQueue(queue: string): Promise<void> {
    this.#assertOpen();
    const scope = this.#topology.scopeOf(queue);
    this.#queues.add(queue);
    this.#scopes.add(scope);
    const channel = this.#publisher.channel;
    if (!channel) return; // declared by the publisher's setup on connect
    try {
      await this.#topology.declareWorkQueue(channel, queue);
    } catch (err) {
      // Keep a failing declaration (406: declared earlier with other arguments) out of
      // every future reconnect, where it would close the publish channel again.
      this.#queues.delete(queue);
      throw err;
    }
  }

  async publish(queue: string, body: Buffer, options: PublishOptions = {}): Promise<void> {
    this.#assertOpen();
    const delay = normalizeDelaySec(options.delaySec ?? 0);
    const canSend = this.#manager.isConnected() && this.#publisher.channel !== undefined;
    if (!canSend && this.#pending.size >= this.options.maxBufferedPublishes) {
      throw new WarrenError(
        'ERR_BUFFER_FULL',
        `Publish buffer full: ${this.#pending.size} publishes held while the broker is unreachable (maxBufferedPublishes)`,
        {
          details: { queue, buffered: this.#pending.size },
        },
      );
    }
    let exchange = '';
    let routingKey = queue;
    if (delay > 0) {
      const scope = this.#topology.scopeOf(queue);
      const topology = this.#topology.topology(scope);
      if (!this.#scopes.has(scope)) {
        this.#scopes.add(scope);
        const channel = this.#publisher.channel;
        if (channel)
          await this.#topology.ensureScope(channel, scope).catch((err: Error) => log('delay topology of %s: %s', scope, err.message));
      }
      exchange = topology.entryExchange;
      routingKey = topology.routingKey(delay, queue);
    }
    await this.#send(exchange, routingKey, queue, body, options);
  }

  async deadLetter(queue: string, body: Buffer, reason: string, headers: Record<string, unknown> = {}, messageId?: string): Promise<void> {
    this.#assertOpen();
    const dead = deadQueueName(queue);
    await this.#send('', dead, dead, body, {
      ...(messageId !== undefined ? { messageId } : {}),
      headers: { ...headers, 'x-warren-reason': reason, 'x-warren-failed-at': new Date().toISOString() },
    });
  }

  async #send(exchange: string, routingKey: string, queue: string, body: Buffer, options: PublishOptions): Promise<void> {
    const id = `${this.#publishToken}-${++this.#publishSeq}`;
    const headers = { ...cleanHeaders(options.headers), [PUBLISH_ID_HEADER]: id };
    this.#pending.add(id);
    // One deadline across resends. The wrapper's own `timeout` drops a message still in its
    // buffer and ignores the confirm of one already sent (amqp-connection-manager 5).
    const deadline = performance.now() + this.#publishTimeoutMs;
    const timedOut = (cause?: unknown) =>
      new WarrenError(
        'ERR_TIMEOUT',
        `The publish to ${queue} was not confirmed within ${formatDuration(this.#publishTimeoutMs)} (publishTimeout)`,
        { cause, details: { queue, messageId: options.messageId } },
      );
    try {
      for (let attempt = 1; ; attempt++) {
        const remaining = Math.ceil(deadline - performance.now());
        if (remaining <= 0) throw timedOut();
        try {
          // Never `expiration`: on a delayed message it would cut the delay short.
          await this.#publisher.wrapper.publish(exchange, routingKey, body, {
            persistent: true,
            mandatory: true,
            ...(options.messageId !== undefined ? { messageId: options.messageId } : {}),
            headers,
            timeout: remaining,
          });
          break;
        } catch (err) {
          if (this.#closing)
            throw new WarrenError('ERR_CLOSED', `Transport closed before the publish to ${queue} was confirmed`, { cause: err });
          if (isWarrenError(err)) throw err;
          if ((err as Error)?.message === 'timeout' || performance.now() >= deadline) throw timedOut(err);
          // The channel died before the broker confirmed: send it again once a channel is
          // back (at-least-once; the consumer side deduplicates by run id).
          if (CHANNEL_LOSS.test((err as Error)?.message ?? '') && attempt < MAX_PUBLISH_ATTEMPTS) {
            this.stats.publishRetries++;
            this.#returned.delete(id);
            continue;
          }
          // A quorum queue nacks while it cannot take messages yet (a leader being elected
          // just after the declare, a node restarting): nothing was enqueued, so a short
          // pause and a re-send is safe (workers deduplicate by run id).
          if (
            (err as Error)?.message === 'message nacked' &&
            attempt < MAX_PUBLISH_ATTEMPTS &&
            performance.now() + 100 * attempt < deadline
          ) {
            this.stats.publishRetries++;
            this.#returned.delete(id);
            await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
            continue;
          }
          throw new WarrenError(
            'ERR_PUBLISH_NACKED',
            `The broker did not accept the publish to ${queue}: ${(err as Error)?.message ?? String(err)}`,
            { cause: err, details: { queue } },
          );
        }
      }
    } finally {
      this.#pending.delete(id);
    }
    if (this.#returned.delete(id)) {
      throw new WarrenError('ERR_PUBLISH_UNROUTABLE', `Unroutable publish: no queue ${queue} (declare it with assertQueue first)`, {
        details: { queue, messageId: options.messageId },
      });
    }
  }

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer> {
    this.#assertOpen();
    const prefetch = options?.prefetch;
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65_535) {
      throw new WarrenError('ERR_INVALID_ARGUMENT', `Invalid \`prefetch\`: expected an integer from 1 to 65535, got ${String(prefetch)}`, {
        field: 'prefetch',
      });
    }
    this.#topology.scopeOf(queue);
    const consumer = new AmqpConsumer(this.#manager, this.#topology, queue, handler, prefetch, {
      backoff: { minMs: this.options.reconnect.minMs, maxMs: CHANNEL_RECOVERY_MAX_MS },
      onError: (err) => this.#events.emit('error', err),
      onStaleSettle: () => {
        this.stats.staleSettles++;
      },
    });
    this.#consumers.add(consumer);
    if (this.#manager.isConnected()) {
      try {
        await consumer.waitForConnect();
      } catch (err) {
        // The first attempt failed (e.g. 406 on the queue's arguments): report it rather
        // than leave a consumer retrying in the background.
        this.#consumers.delete(consumer);
        await consumer.close();
        throw err;
      }
    }
    return {
      cancel: async () => {
        this.#consumers.delete(consumer);
        await consumer.cancel();
      },
    };
  }

  isConnected(): boolean {
    return this.#manager.isConnected();
  }

  /** The URL (password redacted) of the node this transport is connected to, if it is. */
  get connectedUrl(): string | undefined {
    return this.#manager.isConnected() ? this.#connectedUrl : undefined;
  }

  async waitForConnect(signal?: AbortSignal): Promise<void> {
    this.#assertOpen();
    if (this.#manager.isConnected()) return;
    await new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        this.#waiters.delete(onClose);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiters.delete(onClose);
        this.#events.off('connect', onConnect);
        reject(signal?.reason);
      };
      const onClose = (err: unknown) => {
        this.#events.off('connect', onConnect);
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#events.once('connect', onConnect);
      this.#waiters.add(onClose);
    });
  }

  on<E extends keyof TransportEvents>(event: E, listener: (...args: TransportEvents[E]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  off<E extends keyof TransportEvents>(event: E, listener: (...args: TransportEvents[E]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /** Idempotent. Buffered and unconfirmed publishes reject with ERR_CLOSED. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      log('closing');
      for (const reject of this.#waiters) reject(new WarrenError('ERR_CLOSED', 'The transport closed while waiting for a connection'));
      this.#waiters.clear();
      await Promise.all([...this.#consumers].map((c) => c.close()));
      this.#consumers.clear();
      await this.#publisher.close();
      await this.#manager.close().catch((err: Error) => log('close: %s', err.message));
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closing) throw new WarrenError('ERR_CLOSED', 'The transport is closed');
  }
}
