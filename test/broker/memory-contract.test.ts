import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { workQueueName } from '../../src/names.js';
import { transportContract } from '../contract/transport-contract.js';

transportContract('MemoryTransport', async () => {
  const transport = new MemoryTransport();
  return {
    transport,
    queue: (label) => workQueueName('memory', label),
    readyCount: async (queue) => transport.size(queue),
    takeDead: async (queue) => {
      const list = transport.deadLetters(queue).map((m) => ({ body: m.body, headers: m.headers, messageId: m.messageId }));
      return list;
    },
    cleanup: () => transport.close(),
    offline: async (publishTimeoutSec) => {
      const off = new MemoryTransport({ publishTimeout: publishTimeoutSec });
      off.simulateDisconnect();
      return { transport: off, restore: async () => off.reconnect(), close: () => off.close() };
    },
  };
});
