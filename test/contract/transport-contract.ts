/**
 * The Transport contract: one suite, run against AmqpTransport (real RabbitMQ) and
 * MemoryTransport, so warren/testing can never drift from production behaviour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWarrenError } from '../../src/errors.js';
import type { Delivery, Transport } from '../../src/broker/transport.js';
import { waitFor } from '../helpers/wait.js';

export interface DeadMessage {
  body: Buffer;
  headers: Record<string, unknown>;
  messageId: string | undefined;
}

export interface TransportHarness {
  transport: Transport;
  /** The full work queue name for a label, inside this harness's own scope. */
  queue(label: string): string;
  /** Ready messages in a queue. */
  readyCount(queue: string): Promise<number>;
  /** Takes the messages of `{queue}.dead`. */
  takeDead(queue: string): Promise<DeadMessage[]>;
  cleanup(): Promise<void>;
  /**
   * A second transport of the same kind whose broker is unreachable, with `publishTimeout`
   * (seconds); `restore()` lets it connect. Its queues live in this harness's scope.
   */
  offline(publishTimeoutSec: number): Promise<{ transport: Transport; restore(): Promise<void>; close(): Promise<void> }>;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isWarrenError(err), `expected a WarrenError ${code}, got ${String(err)}`).toBe(true);
  expect((err as { code: string }).code).toBe(code);
}

export function transportContract(name: string, create: () => Promise<TransportHarness>): void {
  describe(`Transport contract: ${name}`, () => {
    let h: TransportHarness;
    beforeAll(async () => {
      h = await create();
    });
    afterAll(async () => {
      await h?.cleanup();
    });

    it('publishes, consumes and acks with message id and headers', async () => {
      const queue = h.queue('basic');
      await h.transport.assertQueue(queue);
      await h.transport.assertQueue(queue); // idempotent
      const got: Delivery[] = [];
      const consumer = await h.transport.consume(
        queue,
        (d) => {
          got.push(d);
          d.ack();
        },
        { prefetch: 10 },
      );
      for (let i = 0; i < 3; i++) {
        await h.transport.publish(queue, Buffer.from(`m${i}`), { messageId: `id-${i}`, headers: { 'x-test': i } });
      }
      await waitFor(() => got.length === 3, '3 deliveries');
      expect(got.map((d) => d.body.toString()).sort()).toEqual(['m0', 'm1', 'm2']);
      expect(got.map((d) => d.messageId).sort()).toEqual(['id-0', 'id-1', 'id-2']);
      for (const d of got) {
        expect(d.queue).toBe(queue);
        expect(d.redelivered).toBe(false);
        expect(d.headers['x-test']).toBe(Number(d.body.toString().slice(1)));
      }
      await consumer.cancel();
      expect(await h.readyCount(queue)).toBe(0);
    });

    it('never has more unacked deliveries in flight than the prefetch', async () => {
      const queue = h.queue('prefetch');
      await h.transport.assertQueue(queue);
      for (let i = 0; i < 5; i++) await h.transport.publish(queue, Buffer.from(String(i)));
      const held: Delivery[] = [];
      const consumer = await h.transport.consume(
        queue,
        (d) => {
          held.push(d);
        },
        { prefetch: 2 },
      );
      await waitFor(() => held.length === 2, '2 deliveries');
      // The broker still holds the other 3: the bound, not a slow consumer, stopped them.
      await waitFor(async () => (await h.readyCount(queue)) === 3, '3 ready messages');
      expect(held.length).toBe(2);
      held[0]!.ack();
      await waitFor(() => held.length === 3, 'a third delivery after one ack');
      expect(await h.readyCount(queue)).toBe(2);
      for (const d of held) d.ack();
      await waitFor(() => held.length === 5, 'all deliveries');
      for (const d of held.slice(3)) d.ack();
      await consumer.cancel();
    });

    it('redelivers a nack with requeue, flagged redelivered', async () => {
      const queue = h.queue('requeue');
      await h.transport.assertQueue(queue);
      const seen: Array<{ redelivered: boolean }> = [];
      const consumer = await h.transport.consume(
        queue,
        (d) => {
          seen.push({ redelivered: d.redelivered });
          if (seen.length === 1) d.nack(true);
          else d.ack();
        },
        { prefetch: 1 },
      );
      await h.transport.publish(queue, Buffer.from('again'), { messageId: 'r1' });
      await waitFor(() => seen.length === 2, 'a redelivery');
      expect(seen).toEqual([{ redelivered: false }, { redelivered: true }]);
      await consumer.cancel();
    });

    it('dead-letters with the reason, a timestamp, and headers minus x-death', async () => {
      const queue = h.queue('dead');
      await h.transport.assertQueue(queue);
      await h.transport.deadLetter(queue, Buffer.from('poison'), 'not JSON', { 'x-warren-job': 'j1', 'x-death': [{ count: 1 }] }, 'run-1');
      const dead = await waitFor(async () => {
        const list = await h.takeDead(queue);
        return list.length > 0 ? list : undefined;
      }, 'a dead letter');
      expect(dead).toHaveLength(1);
      expect(dead[0]!.body.toString()).toBe('poison');
      expect(dead[0]!.headers['x-warren-reason']).toBe('not JSON');
      expect(dead[0]!.headers['x-warren-job']).toBe('j1');
      expect(dead[0]!.messageId).toBe('run-1');
      expect(dead[0]!.headers['x-death']).toBeUndefined();
      expect(Number.isNaN(Date.parse(String(dead[0]!.headers['x-warren-failed-at'])))).toBe(false);
    });

    it('dead-letters a message whose handler throws, and keeps consuming', async () => {
      const queue = h.queue('throws');
      await h.transport.assertQueue(queue);
      const errors: Error[] = [];
      const onError = (err: Error) => errors.push(err);
      h.transport.on('error', onError);
      const acked: string[] = [];
      const consumer = await h.transport.consume(
        queue,
        (d) => {
          if (d.body.toString() === 'bad') throw new Error('handler bug');
          acked.push(d.body.toString());
          d.ack();
        },
        { prefetch: 1 },
      );
      await h.transport.publish(queue, Buffer.from('bad'));
      await h.transport.publish(queue, Buffer.from('good'));
      await waitFor(() => acked.includes('good'), 'the next message');
      const dead = await waitFor(async () => {
        const list = await h.takeDead(queue);
        return list.length > 0 ? list : undefined;
      }, 'the thrown message in the dead-letter queue');
      expect(dead.map((m) => m.body.toString())).toEqual(['bad']);
      expect(errors.some((e) => e.message === 'handler bug')).toBe(true);
      h.transport.off('error', onError);
      await consumer.cancel();
    });

    it('rejects an unroutable publish with ERR_PUBLISH_UNROUTABLE and emits return', async () => {
      const queue = h.queue('never-declared');
      const returns: string[] = [];
      const onReturn = (q: string) => returns.push(q);
      h.transport.on('return', onReturn);
      await expectCode(h.transport.publish(queue, Buffer.from('lost'), { messageId: 'u1' }), 'ERR_PUBLISH_UNROUTABLE');
      expect(returns).toContain(queue);
      h.transport.off('return', onReturn);
    });

    it('rejects a delay over 2^28-1 s with ERR_DELAY_OUT_OF_RANGE', async () => {
      const queue = h.queue('range');
      await h.transport.assertQueue(queue);
      await expectCode(h.transport.publish(queue, Buffer.from('x'), { delaySec: 2 ** 28 }), 'ERR_DELAY_OUT_OF_RANGE');
    });

    it('delivers a delayed publish no earlier than asked', async () => {
      const queue = h.queue('delayed');
      await h.transport.assertQueue(queue);
      const arrivals: Array<{ id: string | undefined; at: number }> = [];
      const consumer = await h.transport.consume(
        queue,
        (d) => {
          arrivals.push({ id: d.messageId, at: Date.now() });
          d.ack();
        },
        { prefetch: 5 },
      );
      const publishedAt = Date.now();
      await h.transport.publish(queue, Buffer.from('later'), { messageId: 'd1', delaySec: 1 });
      await h.transport.publish(queue, Buffer.from('now'), { messageId: 'd0' });
      await waitFor(() => arrivals.length === 2, 'both messages');
      expect(arrivals[0]!.id).toBe('d0');
      expect(arrivals[1]!.id).toBe('d1');
      expect(arrivals[1]!.at).toBeGreaterThanOrEqual(publishedAt + 1000);
      await consumer.cancel();
    });

    it('a publish while disconnected rejects with ERR_TIMEOUT after publishTimeout and leaves the buffer', async () => {
      const queue = h.queue('offline');
      const off = await h.offline(0.5);
      try {
        await off.transport.assertQueue(queue);
        expect(off.transport.isConnected()).toBe(false);
        const startedAt = Date.now();
        await expectCode(off.transport.publish(queue, Buffer.from('never'), { messageId: 'timed-out' }), 'ERR_TIMEOUT');
        // Not before its timeout (the buffer held it until then).
        expect(Date.now()).toBeGreaterThanOrEqual(startedAt + 450);
        // Once connected, the timed-out publish is not sent: only the marker arrives.
        await off.restore();
        await off.transport.waitForConnect();
        await off.transport.publish(queue, Buffer.from('marker'), { messageId: 'marker' });
        const got: Array<string | undefined> = [];
        const consumer = await off.transport.consume(
          queue,
          (d) => {
            got.push(d.messageId);
            d.ack();
          },
          { prefetch: 5 },
        );
        await waitFor(() => got.includes('marker'), 'the marker');
        expect(got).toEqual(['marker']);
        await consumer.cancel();
      } finally {
        await off.close();
      }
    });

    it('close is idempotent and later calls reject with ERR_CLOSED', async () => {
      const queue = h.queue('closing');
      await h.transport.assertQueue(queue);
      await h.transport.close();
      await h.transport.close();
      expect(h.transport.isConnected()).toBe(false);
      await expectCode(h.transport.publish(queue, Buffer.from('late')), 'ERR_CLOSED');
      await expectCode(h.transport.assertQueue(queue), 'ERR_CLOSED');
      await expectCode(
        h.transport.consume(queue, () => {}, { prefetch: 1 }),
        'ERR_CLOSED',
      );
    });
  });
}
