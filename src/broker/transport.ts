/**
 * The internal broker port. `AmqpTransport` (amqplib + amqp-connection-manager) and
 * `MemoryTransport` (warren/testing, delays driven by the Clock) pass one contract suite
 * (test/contract/transport).
 */

export interface Delivery {
  /** The full work queue name the message came from. */
  queue: string;
  body: Buffer;
  messageId: string | undefined;
  headers: Record<string, unknown>;
  redelivered: boolean;
  /**
   * Acknowledges on the channel the message arrived on. When that channel is gone the
   * ack is dropped (the broker has already requeued the message): never a stale tag on a
   * new channel.
   */
  ack(): void;
  /** Rejects; `requeue: false` lets the broker drop (or dead-letter) it. */
  nack(requeue: boolean): void;
}

export type DeliveryHandler = (delivery: Delivery) => void | Promise<void>;

export interface PublishOptions {
  messageId?: string;
  /** Built from scratch by the caller; never a copied `x-death`. */
  headers?: Record<string, unknown>;
  /** Whole seconds, "not before"; 0 or absent publishes straight to the queue. */
  delaySec?: number;
}

export interface ConsumeOptions {
  /** Unacknowledged deliveries in flight for this consumer. */
  prefetch: number;
}

export interface Consumer {
  /** Stops new deliveries; deliveries in flight may still be acked. */
  cancel(): Promise<void>;
}

export interface TransportEvents {
  connect: [];
  disconnect: [err: Error | undefined];
  /** A connection attempt failed (refused, unresolvable host, bad credentials); retried with backoff. */
  connectFailed: [err: Error];
  error: [err: Error];
  /** A message the broker returned as unroutable (mandatory publish). */
  return: [queue: string, messageId: string | undefined];
}

export interface Transport {
  readonly kind: 'amqp' | 'memory';
  /**
   * Declares a work queue, its dead-letter queue `{queue}.dead`, and its binding to the
   * scope's delay topology. Idempotent; re-declared on every reconnect.
   */
  assertQueue(queue: string): Promise<void>;
  /**
   * Publishes persistently with confirms and `mandatory`; resolves once the broker
   * confirmed it. Rejects with ERR_PUBLISH_UNROUTABLE when returned, ERR_PUBLISH_NACKED
   * when nacked, ERR_BUFFER_FULL when too much is buffered while disconnected,
   * ERR_DELAY_OUT_OF_RANGE for a delay over 2^28-1 s.
   */
  publish(queue: string, body: Buffer, options?: PublishOptions): Promise<void>;
  /**
   * Sends a message to `{queue}.dead` with `x-warren-reason` (and any extra headers),
   * keeping its AMQP `messageId` (the run id) when given, so a dead letter is found by it.
   */
  deadLetter(queue: string, body: Buffer, reason: string, headers?: Record<string, unknown>, messageId?: string): Promise<void>;
  /** Starts consuming; re-established after every reconnect or channel loss. */
  consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer>;
  isConnected(): boolean;
  /** Resolves when connected (or at once when already). */
  waitForConnect(signal?: AbortSignal): Promise<void>;
  on<E extends keyof TransportEvents>(event: E, listener: (...args: TransportEvents[E]) => void): this;
  off<E extends keyof TransportEvents>(event: E, listener: (...args: TransportEvents[E]) => void): this;
  close(): Promise<void>;
}
