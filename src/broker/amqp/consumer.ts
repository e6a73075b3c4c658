import createDebug from 'debug';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Consumer, Delivery, DeliveryHandler } from '../transport.js';
import { Backoff } from '../../util/backoff.js';
import { AckBatch } from './ack-batch.js';
import { ManagedChannel } from './managed-channel.js';
import type { TopologyRegistry } from './topology.js';

const log = createDebug('warren:broker');

export interface ConsumerHooks {
  backoff: { minMs: number; maxMs: number };
  onError(err: Error): void;
  /** An ack/nack dropped because its channel had closed (the broker requeued the message). */
  onStaleSettle(queue: string): void;
}

/**
 * One consumer on its own channel: its prefetch is its own, and a channel error (a deleted
 * queue, a bad ack) stops only it. Declares its queue and consumes inside the setup
 * function, so every reconnect and every recovered channel consumes again.
 */
export class AmqpConsumer implements Consumer {
  readonly queue: string;
  #managed: ManagedChannel;
  #handler: DeliveryHandler;
  #prefetch: number;
  #hooks: ConsumerHooks;
  #topology: TopologyRegistry;
  #cancelled = false;
  #tag: { channel: Channel; consumerTag: string } | undefined;
  #inFlight = 0;
  /** The acks of the channel consumed on now (a recovered channel gets a new one). */
  #acks: AckBatch | undefined;
  #drained: (() => void) | undefined;
  #setupFailed: ((err: unknown) => void) | undefined;

  constructor(
    manager: AmqpConnectionManager,
    topology: TopologyRegistry,
    queue: string,
    handler: DeliveryHandler,
    prefetch: number,
    hooks: ConsumerHooks,
  ) {
    this.queue = queue;
    this.#handler = handler;
    this.#prefetch = prefetch;
    this.#hooks = hooks;
    this.#topology = topology;
    this.#managed = new ManagedChannel(manager, {
      name: `consume ${queue}`,
      confirm: false,
      backoff: new Backoff({ delayMs: Math.max(1, Math.min(100, hooks.backoff.minMs)), maxMs: hooks.backoff.maxMs }),
      setup: (channel) => this.#setup(channel),
      onError: hooks.onError,
    });
  }

  /** Resolves once consuming on a live channel (for `consume()` when already connected). */
  waitForConnect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#setupFailed = reject;
      this.#managed.wrapper.waitForConnect().then(resolve, reject);
    }).finally(() => {
      this.#setupFailed = undefined;
    });
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async #setup(channel: Channel): Promise<void> {
    try {
      await this.#consumeOn(channel);
    } catch (err) {
      // The first consume() reports it; later ones go through recovery with backoff.
      this.#setupFailed?.(err);
      throw err;
    }
  }

  async #consumeOn(channel: Channel): Promise<void> {
    await this.#topology.declareWorkQueue(channel, this.queue);
    if (this.#cancelled) return;
    // Per-consumer prefetch (global=false): applies to consumers started after it on this channel.
    await channel.prefetch(this.#prefetch, false);
    const { consumerTag } = await channel.consume(this.queue, (msg) => this.#onMessage(channel, msg), { noAck: false });
    this.#tag = { channel, consumerTag };
    log('consuming %s (prefetch %d)', this.queue, this.#prefetch);
  }

  #onMessage(channel: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // basic.cancel from the server: the queue was deleted (or failed over). Closing the
      // channel sends it through recovery, which re-declares the queue and consumes again.
      if (!this.#cancelled) {
        log('consumer of %s cancelled by the server; reopening', this.queue);
        channel.close().catch(() => {});
      }
      return;
    }
    this.#inFlight++;
    const acks = this.#ackBatch(channel);
    acks.delivered(msg);
    let settled = false;
    const settle = (what: 'ack' | 'nack', requeue: boolean) => {
      if (settled) return;
      settled = true;
      this.#inFlight--;
      // A delivery tag belongs to its channel: one of a closed channel is dropped (the broker
      // already requeued the message; acking it on a new channel would ack some other message).
      if (what === 'ack') acks.ack(msg);
      else acks.nack(msg, requeue);
      if (this.#inFlight === 0) this.#drained?.();
    };
    const delivery: Delivery = {
      queue: this.queue,
      body: msg.content,
      messageId: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined,
      headers: (msg.properties.headers ?? {}) as Record<string, unknown>,
      redelivered: msg.fields.redelivered,
      ack: () => settle('ack', false),
      nack: (requeue) => settle('nack', requeue),
    };
    void (async () => {
      try {
        await this.#handler(delivery);
      } catch (err) {
        // A throwing handler would otherwise hold a prefetch slot forever. Rejecting without
        // requeue dead-letters it to `{queue}.dead` (x-death says why) instead of looping.
        log('handler for %s threw: %s', this.queue, (err as Error)?.message);
        this.#hooks.onError(err instanceof Error ? err : new Error(String(err)));
        settle('nack', false);
      }
    })();
  }

  #ackBatch(channel: Channel): AckBatch {
    if (this.#acks?.channel === channel) return this.#acks;
    // Acks still collected for a channel that went are dropped by their batch (stale).
    this.#acks?.flush();
    this.#acks = new AckBatch(
      channel,
      () => this.#managed.isOpen(channel),
      (err) => {
        log(err ? 'ack on %s failed: %s' : 'dropping an ack of a delivery from %s: its channel closed', this.queue, err?.message);
        this.#hooks.onStaleSettle(this.queue);
      },
    );
    return this.#acks;
  }

  async cancel(): Promise<void> {
    if (this.#cancelled) return;
    this.#cancelled = true;
    const tag = this.#tag;
    if (tag && this.#managed.isOpen(tag.channel)) {
      await tag.channel.cancel(tag.consumerTag).catch((err: Error) => log('cancel %s: %s', this.queue, err.message));
    }
    // Deliveries in flight may still be acked on this channel; close it once they are.
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    this.#acks?.flush();
    await this.#managed.close();
  }

  /** Closes at once: unacked deliveries return to the queue, later acks are dropped. */
  async close(): Promise<void> {
    this.#cancelled = true;
    this.#drained?.();
    this.#acks?.flush();
    await this.#managed.close();
  }
}
