import type { ConsumeOptions, Consumer, DeliveryHandler, PublishOptions, Transport, TransportEvents } from './warren.js';

/**
 * Delegates to a real transport and notes when the first delivery reached the consumer,
 * so warren's drain time starts where raw amqplib's does: at the first delivery, not at
 * the first handler call (which comes after the batched claim). With `perMessage` (the
 * default) it also notes each message's publish, confirm and delivery times: the lateness
 * benches' stages. The throughput bench turns that off unless it profiles, so warren's
 * drain carries no more bookkeeping of the bench's than its peers' do.
 */
export class TransportProbe implements Transport {
  readonly kind: Transport['kind'];
  firstDeliveryAt = 0;
  deliveries = 0;
  /** performance.now() of each message's first delivery, by message id (the run id). */
  readonly deliveredAt = new Map<string, number>();
  /** Date.now() of each message's first publish call, its broker confirm and its first delivery, by message id (wall clock, to compare with slots). */
  readonly sentWallAt = new Map<string, number>();
  readonly confirmedWallAt = new Map<string, number>();
  readonly deliveredWallAt = new Map<string, number>();

  readonly #perMessage: boolean;

  constructor(
    readonly inner: Transport,
    options: { perMessage?: boolean } = {},
  ) {
    this.kind = inner.kind;
    this.#perMessage = options.perMessage ?? true;
  }

  assertQueue(queue: string): Promise<void> {
    return this.inner.assertQueue(queue);
  }

  publish(queue: string, body: Buffer, options?: PublishOptions): Promise<void> {
    const id = this.#perMessage ? options?.messageId : undefined;
    if (id !== undefined && !this.sentWallAt.has(id)) this.sentWallAt.set(id, Date.now());
    return this.inner.publish(queue, body, options).then(() => {
      if (id !== undefined && !this.confirmedWallAt.has(id)) this.confirmedWallAt.set(id, Date.now());
    });
  }

  deadLetter(queue: string, body: Buffer, reason: string, headers?: Record<string, unknown>): Promise<void> {
    return this.inner.deadLetter(queue, body, reason, headers);
  }

  consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer> {
    return this.inner.consume(
      queue,
      (delivery) => {
        this.deliveries++;
        if (this.firstDeliveryAt === 0) this.firstDeliveryAt = performance.now();
        if (this.#perMessage && delivery.messageId !== undefined) {
          if (!this.deliveredWallAt.has(delivery.messageId)) this.deliveredWallAt.set(delivery.messageId, Date.now());
          if (!this.deliveredAt.has(delivery.messageId)) this.deliveredAt.set(delivery.messageId, performance.now());
        }
        return handler(delivery);
      },
      options,
    );
  }

  isConnected(): boolean {
    return this.inner.isConnected();
  }

  waitForConnect(signal?: AbortSignal): Promise<void> {
    return this.inner.waitForConnect(signal);
  }

  on<E extends keyof TransportEvents>(event: E, listener: (...args: TransportEvents[E]) => void): this {
    this.inner.on(event, listener);
    return this;
  }

  off<E extends keyof TransportEvents>(event: E, listener: (...args: TransportEvents[E]) => void): this {
    this.inner.off(event, listener);
    return this;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
