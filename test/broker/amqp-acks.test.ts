/**
 * AmqpTransport sends the acks of one turn of the event loop together (one multiple ack for
 * the oldest unsettled deliveries): what the broker ends up with must be exactly what each
 * delivery asked for, holes and nacks included.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/broker/amqp-transport.js';
import type { Delivery } from '../../src/broker/transport.js';
import { deadQueueName, workQueueName } from '../../src/names.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { cleanupScope, openAdmin, type AmqpAdmin } from '../helpers/amqp.js';
import { waitFor } from '../helpers/wait.js';

const scope = uniqueToken('amqp_acks');
const open: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close().catch(() => {});
});

afterAll(async () => {
  await cleanupScope(scope);
});

async function setUp(
  label: string,
  count: number,
): Promise<{ transport: AmqpTransport; admin: AmqpAdmin; queue: string; got: Map<string, Delivery> }> {
  const admin = await openAdmin();
  open.push(admin);
  const transport = new AmqpTransport({ url: AMQP_URL });
  transport.on('error', () => {});
  open.push(transport);
  const queue = workQueueName(scope, label);
  await transport.waitForConnect();
  await transport.assertQueue(queue);
  for (let i = 1; i <= count; i++) await transport.publish(queue, Buffer.from(`m${i}`), { messageId: `m${i}` });
  const got = new Map<string, Delivery>();
  await transport.consume(queue, (d) => void got.set(d.messageId!, d), { prefetch: 50 });
  await waitFor(() => got.size === count, `${count} deliveries`);
  return { transport, admin, queue, got };
}

describe('AmqpTransport acks', () => {
  it('settles the acks of one turn, and leaves a delivery between them unacked', async () => {
    const { transport, admin, queue, got } = await setUp('hole', 6);
    for (const id of ['m1', 'm2', 'm4', 'm6', 'm5']) got.get(id)!.ack();
    // Closing (in the same turn: the acks are sent first) returns what is unacked to the queue: m3 alone.
    await transport.close();
    await waitFor(async () => (await admin.messageCount(queue)) === 1, 'm3 back in the queue');
    expect((await admin.drain(queue)).map((m) => m.properties.messageId)).toEqual(['m3']);
    expect(transport.stats.staleSettles).toBe(0);
  });

  it('sends a nack among acks of the same turn as a nack', async () => {
    const { transport, admin, queue, got } = await setUp('nack', 4);
    got.get('m1')!.ack();
    got.get('m2')!.nack(false); // dead-lettered
    got.get('m3')!.ack();
    got.get('m4')!.ack();
    await waitFor(async () => (await admin.messageCount(deadQueueName(queue))) === 1, 'm2 dead-lettered');
    await transport.close();
    expect((await admin.drain(deadQueueName(queue))).map((m) => m.properties.messageId)).toEqual(['m2']);
    expect(await admin.messageCount(queue)).toBe(0);
  });
});
