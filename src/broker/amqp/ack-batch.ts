import type { Channel, ConsumeMessage } from 'amqplib';

/**
 * The acks of one consumer channel, sent together: a worker acks a claim batch's
 * deliveries one after the other in the same turn of the event loop, and one frame per ack
 * cost a socket write in the worker and a settle in the (quorum) queue each. Acks are
 * collected until the event loop's next check phase; then the longest run of acked
 * deliveries from the oldest unsettled one goes as one `basic.ack` with `multiple` set, and
 * any acked beyond a delivery still unsettled go one by one (they never wait for it).
 * A nack is sent at once: a later multiple ack never covers a nacked delivery, since the
 * broker settled it before. An ack whose channel closed meanwhile is dropped (the broker
 * requeued the message): `onStale` is told, as for an ack of a closed channel before.
 */
export class AckBatch {
  readonly #channel: Channel;
  readonly #isOpen: () => boolean;
  readonly #onStale: (err?: Error) => void;
  /** Deliveries not yet settled, by delivery tag (ascending: a channel numbers them in order). */
  readonly #unsettled = new Map<number, ConsumeMessage>();
  readonly #acked = new Set<number>();
  #scheduled: NodeJS.Immediate | null = null;

  constructor(channel: Channel, isOpen: () => boolean, onStale: (err?: Error) => void) {
    this.#channel = channel;
    this.#isOpen = isOpen;
    this.#onStale = onStale;
  }

  get channel(): Channel {
    return this.#channel;
  }

  delivered(msg: ConsumeMessage): void {
    this.#unsettled.set(msg.fields.deliveryTag, msg);
  }

  ack(msg: ConsumeMessage): void {
    if (!this.#isOpen()) {
      this.#unsettled.delete(msg.fields.deliveryTag);
      this.#onStale();
      return;
    }
    this.#acked.add(msg.fields.deliveryTag);
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  nack(msg: ConsumeMessage, requeue: boolean): void {
    this.#unsettled.delete(msg.fields.deliveryTag);
    this.#send(() => this.#channel.nack(msg, false, requeue), 1);
  }

  /** Sends the acks collected so far (also called before the channel is closed on purpose). */
  flush(): void {
    if (this.#scheduled !== null) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    if (this.#acked.size === 0) return;
    let upTo: ConsumeMessage | undefined;
    let covered = 0;
    for (const [tag, msg] of this.#unsettled) {
      if (!this.#acked.has(tag)) break;
      upTo = msg;
      covered += 1;
    }
    for (let i = 0; i < covered; i++) {
      const tag = this.#unsettled.keys().next().value as number;
      this.#unsettled.delete(tag);
      this.#acked.delete(tag);
    }
    if (upTo !== undefined) {
      const last = upTo;
      this.#send(() => this.#channel.ack(last, true), covered);
    }
    for (const tag of this.#acked) {
      const msg = this.#unsettled.get(tag);
      this.#unsettled.delete(tag);
      if (msg !== undefined) this.#send(() => this.#channel.ack(msg, false), 1);
    }
    this.#acked.clear();
  }

  #send(frame: () => void, settles: number): void {
    if (!this.#isOpen()) {
      for (let i = 0; i < settles; i++) this.#onStale();
      return;
    }
    try {
      frame();
    } catch (err) {
      for (let i = 0; i < settles; i++) this.#onStale(err as Error);
    }
  }
}
