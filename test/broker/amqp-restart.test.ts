/**
 * A broker restart, on a throwaway node (the shared one never stops): the transport
 * reconnects, consumers resume, and quorum queues keep their messages, delayed ones too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/broker/amqp-transport.js';
import { workQueueName } from '../../src/names.js';
import { uniqueToken } from '../helpers/env.js';
import { startRabbitNode, type RabbitNode } from '../helpers/rabbit-node.js';
import { waitFor } from '../helpers/wait.js';

describe('AmqpTransport across a broker restart', () => {
  const scope = uniqueToken('amqp_restart');
  let node: RabbitNode;
  let transport: AmqpTransport;

  beforeAll(async () => {
    node = await startRabbitNode(scope.replace(/_/g, '-'));
    transport = new AmqpTransport({ url: node.url, reconnect: { min: '100ms', max: '1s' } });
    transport.on('error', () => {});
    await transport.waitForConnect();
  }, 120_000);

  afterAll(async () => {
    await transport?.close();
    await node?.destroy();
  }, 120_000);

  it('reconnects, resumes consumers, and keeps quorum messages', async () => {
    const live = workQueueName(scope, 'live');
    const stored = workQueueName(scope, 'stored');
    await transport.assertQueue(live);
    await transport.assertQueue(stored);
    const liveGot: string[] = [];
    await transport.consume(
      live,
      (d) => {
        liveGot.push(d.body.toString());
        d.ack();
      },
      { prefetch: 5 },
    );
    await transport.publish(live, Buffer.from('before'));
    await waitFor(() => liveGot.includes('before'), 'a message before the restart');
    for (let i = 0; i < 10; i++) await transport.publish(stored, Buffer.from(`s${i}`), { messageId: `s${i}` });
    const delayedAt = Date.now();
    await transport.publish(stored, Buffer.from('delayed'), { messageId: 'delayed', delaySec: 2 });

    const disconnects: unknown[] = [];
    transport.on('disconnect', (err) => disconnects.push(err));
    await node.restart();
    await waitFor(() => disconnects.length > 0 && transport.isConnected(), 'the transport back on the restarted node', {
      timeoutMs: 30_000,
    });

    await transport.publish(live, Buffer.from('after'));
    await waitFor(() => liveGot.includes('after'), 'the consumer resumed after the restart');

    const stored_: Array<{ id: string | undefined; at: number }> = [];
    await transport.consume(
      stored,
      (d) => {
        stored_.push({ id: d.messageId, at: Date.now() });
        d.ack();
      },
      { prefetch: 20 },
    );
    await waitFor(() => stored_.length === 11, '10 stored and 1 delayed message after the restart', { timeoutMs: 30_000 });
    expect(stored_.map((m) => m.id).sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `s${i}`), 'delayed'].sort());
    expect(stored_.find((m) => m.id === 'delayed')!.at).toBeGreaterThanOrEqual(delayedAt + 2000);
  });
});
