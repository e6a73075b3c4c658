import { AmqpTransport } from '../../src/broker/amqp-transport.js';
import { deadQueueName, workQueueName } from '../../src/names.js';
import { transportContract } from '../contract/transport-contract.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { cleanupScope, openAdmin } from '../helpers/amqp.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

transportContract('AmqpTransport', async () => {
  const scope = uniqueToken('amqp_contract');
  const transport = new AmqpTransport({ url: AMQP_URL });
  const admin = await openAdmin();
  await transport.waitForConnect();
  return {
    transport,
    queue: (label) => workQueueName(scope, label),
    readyCount: async (queue) => (await admin.messageCount(queue)) ?? 0,
    takeDead: async (queue) =>
      (await admin.drain(deadQueueName(queue))).map((m) => ({
        body: m.content,
        headers: (m.properties.headers ?? {}) as Record<string, unknown>,
        messageId: m.properties.messageId as string | undefined,
      })),
    offline: async (publishTimeoutSec) => {
      // A paused TCP proxy: the broker is unreachable for this transport only.
      const proxy = await startTcpProxy({}, { paused: true });
      const off = new AmqpTransport({
        url: proxy.url(AMQP_URL),
        publishTimeout: publishTimeoutSec,
        reconnect: { min: '50ms', max: '200ms' },
      });
      off.on('error', () => {});
      return {
        transport: off,
        restore: async () => proxy.resume(),
        close: async () => {
          await off.close();
          await proxy.close();
        },
      };
    },
    cleanup: async () => {
      await transport.close();
      await admin.close();
      await cleanupScope(scope);
    },
  };
});
