/**
 * Faults injected through a TCP proxy between the transport and the shared broker (which
 * never stops): boot while unreachable, a cut under load, a channel the server closed, the
 * publish buffer bound, a stale ack after a reconnect.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AmqpTransport, type AmqpTransportOptions } from '../../src/broker/amqp-transport.js';
import type { Delivery } from '../../src/broker/transport.js';
import { isWarrenError } from '../../src/errors.js';
import { workQueueName } from '../../src/names.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { cleanupScope, collectBodies, openAdmin } from '../helpers/amqp.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const scope = uniqueToken('amqp_faults');
const open: Array<{ close(): Promise<void> }> = [];

function transportVia(proxy: TcpProxy, extra: Partial<AmqpTransportOptions> = {}): AmqpTransport {
  const transport = new AmqpTransport({ url: proxy.url(AMQP_URL), reconnect: { min: '50ms', max: '500ms' }, ...extra });
  transport.on('error', () => {}); // asserted where it matters; never crash the runner
  open.push(transport);
  return transport;
}

async function proxy(options: { paused?: boolean } = {}): Promise<TcpProxy> {
  const p = await startTcpProxy({}, options);
  open.push(p);
  return p;
}

afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close().catch(() => {});
});

afterAll(async () => {
  await cleanupScope(scope);
});

describe('AmqpTransport under faults', () => {
  it('boots while the broker is unreachable and works once it is reachable', async () => {
    const p = await proxy({ paused: true });
    const transport = transportVia(p);
    const queue = workQueueName(scope, 'boot');
    const disconnects: unknown[] = [];
    transport.on('disconnect', (err) => disconnects.push(err));
    // None of these may throw or wait for the broker.
    await transport.assertQueue(queue);
    const got = await collectBodies(transport, queue, 5);
    const published = transport.publish(queue, Buffer.from('hello'), { messageId: 'b1' });
    expect(transport.isConnected()).toBe(false);
    p.resume();
    await transport.waitForConnect();
    await published;
    await waitFor(() => got.includes('hello'), 'the buffered message consumed');
    expect(transport.isConnected()).toBe(true);
  });

  it('closes cleanly while still unreachable, rejecting waiters and buffered publishes', async () => {
    const p = await proxy({ paused: true });
    const transport = transportVia(p);
    const queue = workQueueName(scope, 'never');
    const waiting = transport.waitForConnect().catch((e: unknown) => e);
    const publishing = transport.publish(queue, Buffer.from('x')).catch((e: unknown) => e);
    await transport.close();
    expect(isWarrenError(await waiting, 'ERR_CLOSED')).toBe(true);
    expect(isWarrenError(await publishing, 'ERR_CLOSED')).toBe(true);
  });

  it('loses nothing when the connection is cut while 500 messages flow', async () => {
    const p = await proxy();
    const publisher = transportVia(p);
    const consumerSide = transportVia(p);
    const queue = workQueueName(scope, 'cut');
    await publisher.waitForConnect();
    await consumerSide.waitForConnect();
    await publisher.assertQueue(queue);
    const seen = new Map<string, number>();
    await consumerSide.consume(
      queue,
      (d) => {
        const id = d.messageId ?? '?';
        seen.set(id, (seen.get(id) ?? 0) + 1);
        d.ack();
      },
      { prefetch: 20 },
    );

    let retries = 0;
    let cut = false;
    const publishOne = async (i: number) => {
      for (;;) {
        try {
          await publisher.publish(queue, Buffer.from(String(i)), { messageId: `m${i}` });
          return;
        } catch (err) {
          retries++;
          if (!isWarrenError(err)) throw err;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const ids = Array.from({ length: 500 }, (_, i) => i);
    const work: Array<Promise<void>> = [];
    for (const i of ids) {
      work.push(publishOne(i));
      if (i % 25 === 24) await Promise.all(work.splice(0));
      if (!cut && seen.size >= 150) {
        cut = true;
        p.cutAll();
      }
    }
    await Promise.all(work);
    expect(cut).toBe(true);
    await waitFor(() => seen.size === 500, 'every id consumed', { timeoutMs: 45_000 });
    for (const i of ids) expect(seen.get(`m${i}`) ?? 0).toBeGreaterThanOrEqual(1);
    const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
    // At-least-once at this layer; the worker's run claim turns duplicates into no-ops.
    console.info(
      `[amqp-faults] cut under load: 500 ids consumed, ${duplicates} duplicates, ${retries} publishes rejected, ${publisher.stats.publishRetries} re-sent by the transport, ${consumerSide.stats.staleSettles} stale acks dropped`,
    );
    expect(publisher.stats.reconnects + consumerSide.stats.reconnects).toBeGreaterThanOrEqual(2);
  });

  it('recovers a publish channel the server closed (406) while the connection lives', async () => {
    const p = await proxy();
    const transport = transportVia(p);
    await transport.waitForConnect();
    const good = workQueueName(scope, 'good');
    const conflict = workQueueName(scope, 'conflict');
    await transport.assertQueue(good);
    const admin = await openAdmin();
    const ch = await admin.channel();
    await ch.assertQueue(conflict, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    await ch.close();
    await admin.close();
    const errors: Error[] = [];
    transport.on('error', (err) => errors.push(err));
    // Redeclaring with other arguments: 406 PRECONDITION_FAILED closes the channel.
    await expect(transport.assertQueue(conflict)).rejects.toThrow(/PRECONDITION_FAILED|inequivalent/);
    await transport.publish(good, Buffer.from('after 406'));
    expect(transport.isConnected()).toBe(true);
    expect(errors.some((e) => /PRECONDITION_FAILED|inequivalent/.test(e.message))).toBe(true);
    expect(await waitFor(async () => (await (await openAdminOnce()).count(good)) === 1, 'the message published after recovery')).toBe(true);
  });

  it('resumes consuming after the consumed queue is deleted under it', async () => {
    const p = await proxy();
    const transport = transportVia(p);
    await transport.waitForConnect();
    const queue = workQueueName(scope, 'deleted');
    await transport.assertQueue(queue);
    const got = await collectBodies(transport, queue, 1);
    await transport.publish(queue, Buffer.from('before'));
    await waitFor(() => got.includes('before'), 'the first message');
    const admin = await openAdmin();
    const ch = await admin.channel();
    await ch.deleteQueue(queue);
    await ch.close();
    await admin.close();
    // The server cancels the consumer; recovery re-declares the queue and consumes again.
    await waitFor(async () => (await (await openAdminOnce()).consumers(queue)) === 1, 'the consumer back on the re-declared queue');
    await transport.publish(queue, Buffer.from('after'));
    await waitFor(() => got.includes('after'), 'a message after the queue came back');
  });

  it('rejects publishes past the buffer bound at once while disconnected, and flushes the rest', async () => {
    const p = await proxy();
    const transport = transportVia(p, { maxBufferedPublishes: 5 });
    const queue = workQueueName(scope, 'buffer');
    await transport.waitForConnect();
    await transport.assertQueue(queue);
    p.pause();
    p.cutAll();
    await waitFor(() => !transport.isConnected(), 'the disconnect');
    const held = Array.from({ length: 5 }, (_, i) => transport.publish(queue, Buffer.from(`b${i}`), { messageId: `b${i}` }));
    const err = await transport.publish(queue, Buffer.from('one too many')).catch((e: unknown) => e);
    expect(isWarrenError(err, 'ERR_BUFFER_FULL')).toBe(true);
    p.resume();
    await Promise.all(held);
    await waitFor(async () => (await (await openAdminOnce()).count(queue)) === 5, 'the 5 buffered messages in the queue');
  });

  it('rejects buffered publishes with ERR_CLOSED when closed while disconnected', async () => {
    const p = await proxy();
    const transport = transportVia(p);
    const queue = workQueueName(scope, 'closed');
    await transport.waitForConnect();
    await transport.assertQueue(queue);
    p.pause();
    p.cutAll();
    await waitFor(() => !transport.isConnected(), 'the disconnect');
    const pending = [transport.publish(queue, Buffer.from('a')), transport.publish(queue, Buffer.from('b'))].map((pr) =>
      pr.catch((e: unknown) => e),
    );
    await transport.close();
    for (const result of await Promise.all(pending)) expect(isWarrenError(result, 'ERR_CLOSED')).toBe(true);
  });

  it('drops a stale ack after a reconnect without harming the new channel', async () => {
    const p = await proxy();
    const transport = transportVia(p);
    const queue = workQueueName(scope, 'stale');
    await transport.waitForConnect();
    await transport.assertQueue(queue);
    const deliveries: Delivery[] = [];
    await transport.consume(
      queue,
      (d) => {
        deliveries.push(d);
      },
      { prefetch: 1 },
    );
    await transport.publish(queue, Buffer.from('x'), { messageId: 's1' });
    await waitFor(() => deliveries.length === 1, 'the first delivery');
    p.cutAll();
    // The broker requeues the unacked message; it comes back on the new channel.
    await waitFor(() => deliveries.length === 2, 'the redelivery');
    expect(deliveries[1]!.redelivered).toBe(true);
    deliveries[0]!.ack(); // stale tag: must be dropped, not sent on the new channel
    expect(transport.stats.staleSettles).toBe(1);
    deliveries[1]!.ack();
    await transport.publish(queue, Buffer.from('y'), { messageId: 's2' });
    await waitFor(() => deliveries.length === 3, 'a delivery after the stale ack');
    deliveries[2]!.ack();
    await waitFor(async () => (await (await openAdminOnce()).count(queue)) === 0, 'an empty queue');
    expect(transport.stats.staleSettles).toBe(1);
  });
});

/** A throwaway admin connection per check (closed after use) for counts. */
async function openAdminOnce(): Promise<{
  count(queue: string): Promise<number | undefined>;
  consumers(queue: string): Promise<number | undefined>;
}> {
  const admin = await openAdmin();
  const check = async (queue: string) => {
    const ch = await admin.channel();
    try {
      return await ch.checkQueue(queue);
    } catch {
      return undefined;
    } finally {
      await ch.close().catch(() => {});
      await admin.close();
    }
  };
  return {
    count: async (queue) => (await check(queue))?.messageCount,
    consumers: async (queue) => (await check(queue))?.consumerCount,
  };
}
