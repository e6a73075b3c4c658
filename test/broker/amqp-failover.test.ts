/**
 * A list of broker URLs: the transport skips a dead address, connects to the first node that
 * answers, and when that node goes away moves to the next one and keeps publishing and
 * consuming. The node that goes away is a throwaway one; the shared broker on 5672 is the
 * node it moves to, and is never stopped.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/broker/amqp-transport.js';
import { workQueueName } from '../../src/names.js';
import { cleanupScope, collectBodies } from '../helpers/amqp.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { startRabbitNode, type RabbitNode } from '../helpers/rabbit-node.js';
import { waitFor } from '../helpers/wait.js';

/** A port nothing listens on: a server bound and closed again. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function withPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
}

const redacted = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

describe('AmqpTransport with several broker URLs', () => {
  const scope = uniqueToken('amqp_failover');
  let node: RabbitNode;
  let transport: AmqpTransport;
  let dead: string;
  const failed: Error[] = [];

  beforeAll(async () => {
    node = await startRabbitNode(scope.replace(/_/g, '-'));
    dead = withPort(AMQP_URL, await closedPort());
    transport = new AmqpTransport({ url: [dead, node.url, AMQP_URL], reconnect: { min: '100ms', max: '500ms' } });
    transport.on('error', () => {});
    transport.on('connectFailed', (err) => failed.push(err));
    await transport.waitForConnect();
  }, 120_000);

  afterAll(async () => {
    await transport?.close();
    await node?.destroy();
    await cleanupScope(scope);
  }, 120_000);

  it('skips a dead address, then moves to the next node when its node stops, and keeps publishing and consuming', async () => {
    expect(failed.length).toBeGreaterThan(0);
    expect(transport.connectedUrl).toBe(redacted(node.url));

    const queue = workQueueName(scope, 'work');
    await transport.assertQueue(queue);
    const got = await collectBodies(transport, queue, 10);
    await transport.publish(queue, Buffer.from('on-first'));
    await waitFor(() => got.includes('on-first'), 'a message through the first live node');

    const disconnects: unknown[] = [];
    transport.on('disconnect', (err) => disconnects.push(err));
    await node.stop();
    // Published while the transport is between nodes: held, then sent to the next node.
    const during = transport.publish(queue, Buffer.from('during'));
    await waitFor(() => disconnects.length > 0 && transport.connectedUrl === redacted(AMQP_URL), 'the transport on the next node', {
      timeoutMs: 30_000,
    });
    await during;
    await transport.publish(queue, Buffer.from('on-next'));
    await waitFor(() => got.includes('during') && got.includes('on-next'), 'the consumer resumed on the next node');
    expect(got.filter((m) => m === 'on-next')).toHaveLength(1);
  });
});
