/**
 * The in-memory transport of warren/testing: the Transport contract without a broker.
 * Delays run on the injected Clock, so a FakeClock drives them; faults are injected with
 * `simulateDisconnect()` / `reconnect()`. Passes the same contract suite as AmqpTransport.
 */
import { WarrenError, describeValue } from '../errors.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { deadQueueName } from '../names.js';
import { formatDuration, parseDuration, type Duration } from '../util/duration.js';
import { SafeEmitter } from '../util/events.js';
import { cleanHeaders, normalizeDelaySec } from './delay-topology.js';
import type { Consumer, ConsumeOptions, Delivery, DeliveryHandler, PublishOptions, Transport, TransportEvents } from './transport.js';

export interface MemoryTransportOptions {
  /** Drives delays. @default systemClock */
  clock?: Clock;
  /** Publishes held while disconnected before ERR_BUFFER_FULL. @default 10000 */
  maxBufferedPublishes?: number;
  /**
   * A publish held while disconnected for this long (on the Clock) leaves the buffer and
   * rejects with ERR_TIMEOUT, as AmqpTransport's `publishTimeout`.
   * @default '30s'
   */
  publishTimeout?: Duration;
}

/** A message as stored in a memory queue. */
export interface MemoryMessage {
  body: Buffer;
  messageId: string | undefined;
  headers: Record<string, unknown>;
  redelivered: boolean;
}

interface MemoryConsumer {
  queue: string;
  handler: DeliveryHandler;
  prefetch: number;
  inFlight: number;
  cancelled: boolean;
}

interface MemoryQueue {
  ready: MemoryMessage[];
  /** Delivered, not yet settled, keyed by a delivery number. */
  unacked: Map<number, { message: MemoryMessage; consumer: MemoryConsumer }>;
}

interface Buffered {
  run: () => void;
  reject: (err: unknown) => void;
}

/** Rejects a buffered publish not sent within `publishTimeout`. */
interface BufferedWithTimer extends Buffered {
  timer: Timer | null;
}

export class MemoryTransport implements Transport {
  readonly kind = 'memory' as const;
  /** Acks/nacks dropped because the "channel" they came from was lost. */
  staleSettles = 0;

  #clock: Clock;
  #maxBuffered: number;
  #events = new SafeEmitter<TransportEvents>();
  #queues = new Map<string, MemoryQueue>();
  #consumers: MemoryConsumer[] = [];
  #unroutable: Array<MemoryMessage & { queue: string }> = [];
  #timers = new Set<Timer>();
  #buffer: BufferedWithTimer[] = [];
  #publishTimeoutMs: number;
  #connected = true;
  #closed = false;
  /** Bumped on every simulated disconnect: a delivery of an older generation is stale. */
  #generation = 0;
  #deliverySeq = 0;
  #dispatching = false;

  constructor(options: MemoryTransportOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    const max = options.maxBufferedPublishes ?? 10_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new WarrenError(
        'ERR_INVALID_OPTION',
        `Invalid transport option \`maxBufferedPublishes\`: expected an integer >= 1, got ${describeValue(max)}`,
        { field: 'maxBufferedPublishes' },
      );
    }
    this.#maxBuffered = max;
    this.#publishTimeoutMs = parseDuration(options.publishTimeout ?? '30s', 'publishTimeout', 'ERR_INVALID_OPTION');
    if (this.#publishTimeoutMs < 100) {
      throw new WarrenError(
        'ERR_INVALID_OPTION',
        `Invalid transport option \`publishTimeout\`: expected a duration >= 100ms (such as "30s", or a number of seconds), got ${describeValue(options.publishTimeout)}`,
        { field: 'publishTimeout' },
      );
    }
  }

  async assertQueue(queue: string): Promise<void> {
    this.#assertOpen();
    this.#queue(queue, true);
    this.#queue(deadQueueName(queue), true);
  }

  async publish(queue: string, body: Buffer, options: PublishOptions = {}): Promise<void> {
    this.#assertOpen();
    const delay = normalizeDelaySec(options.delaySec ?? 0);
    const message: MemoryMessage = { body, messageId: options.messageId, headers: cleanHeaders(options.headers), redelivered: false };
    await this.#whenConnected(() => {
      if (!this.#queues.has(queue)) {
        this.#events.emit('return', queue, options.messageId);
        throw new WarrenError('ERR_PUBLISH_UNROUTABLE', `Unroutable publish: no queue ${queue} (declare it with assertQueue first)`, {
          details: { queue, messageId: options.messageId },
        });
      }
      if (delay === 0) return this.#enqueue(queue, message);
      const timer = this.#clock.setTimer(() => {
        this.#timers.delete(timer);
        // Like the delivery exchange's alternate exchange: a vanished target is kept aside.
        if (this.#queues.has(queue)) this.#enqueue(queue, message);
        else this.#unroutable.push({ ...message, queue });
      }, delay * 1000);
      this.#timers.add(timer);
    });
  }

  async deadLetter(queue: string, body: Buffer, reason: string, headers: Record<string, unknown> = {}, messageId?: string): Promise<void> {
    this.#assertOpen();
    const dead = deadQueueName(queue);
    await this.#whenConnected(() => {
      if (!this.#queues.has(dead)) {
        throw new WarrenError('ERR_PUBLISH_UNROUTABLE', `Unroutable publish: no queue ${dead} (declare ${queue} with assertQueue first)`, {
          details: { queue: dead },
        });
      }
      this.#enqueue(dead, {
        body,
        messageId,
        headers: { ...cleanHeaders(headers), 'x-warren-reason': reason, 'x-warren-failed-at': new Date(this.#clock.now()).toISOString() },
        redelivered: false,
      });
    });
  }

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer> {
    this.#assertOpen();
    const prefetch = options?.prefetch;
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65_535) {
      throw new WarrenError('ERR_INVALID_ARGUMENT', `Invalid \`prefetch\`: expected an integer from 1 to 65535, got ${String(prefetch)}`, {
        field: 'prefetch',
      });
    }
    // Like AmqpTransport, a consumer declares its own queue.
    await this.assertQueue(queue);
    const consumer: MemoryConsumer = { queue, handler, prefetch, inFlight: 0, cancelled: false };
    this.#consumers.push(consumer);
    this.#schedule();
    return {
      cancel: async () => {
        consumer.cancelled = true;
        this.#consumers = this.#consumers.filter((c) => c !== consumer);
      },
    };
  }

  isConnected(): boolean {
    return this.#connected && !this.#closed;
  }

  async waitForConnect(signal?: AbortSignal): Promise<void> {
    this.#assertOpen();
    if (this.#connected) return;
    await new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#events.off('connect', onConnect);
        reject(signal?.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#events.once('connect', onConnect);
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

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    const buffered = this.#buffer.splice(0);
    for (const b of buffered) b.reject(new WarrenError('ERR_CLOSED', 'Transport closed before the publish was sent'));
    for (const c of this.#consumers) c.cancelled = true;
    this.#consumers = [];
    // Unacked deliveries go back to their queues, as the broker does when a channel closes.
    this.#generation++;
    for (const q of this.#queues.values()) this.#requeueUnacked(q);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- fault injection and inspection (tests) ----

  /** Drops the "connection": unacked deliveries return to their queues as redelivered, later acks of them are dropped, publishes buffer. */
  simulateDisconnect(err: Error = new Error('simulated disconnect')): void {
    if (!this.#connected || this.#closed) return;
    this.#connected = false;
    this.#generation++;
    for (const q of this.#queues.values()) this.#requeueUnacked(q);
    for (const c of this.#consumers) c.inFlight = 0;
    this.#events.emit('disconnect', err);
  }

  /** Restores the "connection": buffered publishes go out, consumers resume. */
  reconnect(): void {
    if (this.#connected || this.#closed) return;
    this.#connected = true;
    this.#events.emit('connect');
    for (const b of this.#buffer.splice(0)) b.run();
    this.#schedule();
  }

  /** Ready (not delivered) messages of a queue, oldest first. */
  peek(queue: string): readonly MemoryMessage[] {
    return [...(this.#queues.get(queue)?.ready ?? [])];
  }

  /** Ready messages in a queue (0 when it does not exist). */
  size(queue: string): number {
    return this.#queues.get(queue)?.ready.length ?? 0;
  }

  /** Delivered but unsettled messages of a queue. */
  unackedCount(queue: string): number {
    return this.#queues.get(queue)?.unacked.size ?? 0;
  }

  /** Messages in `{queue}.dead` (takes the work queue's name). */
  deadLetters(queue: string): readonly MemoryMessage[] {
    return this.peek(deadQueueName(queue));
  }

  /** Delayed messages whose target queue no longer existed when their delay ran out. */
  unroutable(): ReadonlyArray<MemoryMessage & { queue: string }> {
    return [...this.#unroutable];
  }

  /** Delayed messages still waiting. */
  delayedCount(): number {
    return this.#timers.size;
  }

  hasQueue(queue: string): boolean {
    return this.#queues.has(queue);
  }

  // ---- internals ----

  #assertOpen(): void {
    if (this.#closed) throw new WarrenError('ERR_CLOSED', 'The transport is closed');
  }

  #queue(name: string, create: boolean): MemoryQueue | undefined {
    let q = this.#queues.get(name);
    if (!q && create) this.#queues.set(name, (q = { ready: [], unacked: new Map() }));
    return q;
  }

  /** Runs `send` now when connected, else buffers it (bounded), as the AMQP channel does. */
  #whenConnected(send: () => void): Promise<void> {
    if (this.#connected) {
      send();
      return Promise.resolve();
    }
    if (this.#buffer.length >= this.#maxBuffered) {
      return Promise.reject(
        new WarrenError(
          'ERR_BUFFER_FULL',
          `Publish buffer full: ${this.#buffer.length} publishes held while disconnected (maxBufferedPublishes)`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const entry: BufferedWithTimer = {
        run: () => {
          entry.timer?.cancel();
          try {
            send();
            resolve();
          } catch (err) {
            reject(err);
          }
        },
        reject: (err) => {
          entry.timer?.cancel();
          reject(err);
        },
        timer: null,
      };
      // Like AmqpTransport: a publish not sent within publishTimeout leaves the buffer.
      entry.timer = this.#clock.setTimer(() => {
        entry.timer = null;
        const at = this.#buffer.indexOf(entry);
        if (at === -1) return;
        this.#buffer.splice(at, 1);
        reject(
          new WarrenError(
            'ERR_TIMEOUT',
            `The publish was not confirmed within ${formatDuration(this.#publishTimeoutMs)} (publishTimeout): disconnected`,
          ),
        );
      }, this.#publishTimeoutMs);
      this.#buffer.push(entry);
    });
  }

  #enqueue(queue: string, message: MemoryMessage): void {
    this.#queue(queue, true)!.ready.push(message);
    this.#schedule();
  }

  #requeueUnacked(q: MemoryQueue): void {
    const back = [...q.unacked.values()].map(({ message }) => ({ ...message, redelivered: true }));
    q.unacked.clear();
    q.ready.unshift(...back);
  }

  /** Dispatch runs on a later microtask, never inside publish or ack (no reentrancy). */
  #schedule(): void {
    if (this.#dispatching) return;
    this.#dispatching = true;
    queueMicrotask(() => {
      this.#dispatching = false;
      this.#dispatch();
    });
  }

  #dispatch(): void {
    if (!this.#connected || this.#closed) return;
    let progress = true;
    while (progress) {
      progress = false;
      for (const consumer of this.#consumers) {
        if (consumer.cancelled || consumer.inFlight >= consumer.prefetch) continue;
        const q = this.#queues.get(consumer.queue);
        const message = q?.ready.shift();
        if (!q || !message) continue;
        this.#deliver(q, consumer, message);
        progress = true;
      }
    }
  }

  #deliver(q: MemoryQueue, consumer: MemoryConsumer, message: MemoryMessage): void {
    const tag = ++this.#deliverySeq;
    const generation = this.#generation;
    q.unacked.set(tag, { message, consumer });
    consumer.inFlight++;
    let settled = false;
    const settle = (requeue: boolean | 'ack') => {
      if (settled) return;
      settled = true;
      if (generation !== this.#generation || !q.unacked.has(tag)) {
        this.staleSettles++;
        return;
      }
      q.unacked.delete(tag);
      consumer.inFlight--;
      if (requeue === true) q.ready.unshift({ ...message, redelivered: true });
      else if (requeue === false) {
        // Like the work queue's dead-letter exchange: rejected → `{queue}.dead`.
        const dead = this.#queue(deadQueueName(consumer.queue), true)!;
        dead.ready.push({
          ...message,
          headers: { ...message.headers, 'x-first-death-reason': 'rejected', 'x-first-death-queue': consumer.queue },
        });
      }
      this.#schedule();
    };
    const delivery: Delivery = {
      queue: consumer.queue,
      body: message.body,
      messageId: message.messageId,
      headers: { ...message.headers },
      redelivered: message.redelivered,
      ack: () => settle('ack'),
      nack: (requeue) => settle(requeue),
    };
    void (async () => {
      try {
        await consumer.handler(delivery);
      } catch (err) {
        this.#events.emit('error', err instanceof Error ? err : new Error(String(err)));
        settle(false);
      }
    })();
  }
}
