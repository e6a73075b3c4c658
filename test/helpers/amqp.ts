/**
 * Raw amqplib helpers for the broker tests: an admin connection to inspect queues, and a
 * cleanup that deletes everything a test file declared under its scope.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { AMQP_URL } from './env.js';
import { delayTopology } from '../../src/broker/delay-topology.js';
import { delayPrefix } from '../../src/names.js';
import type { Transport } from '../../src/broker/transport.js';

const exec = promisify(execFile);

export interface AmqpAdmin {
  connection: amqp.ChannelModel;
  /** A fresh channel: a failed passive check closes the channel it ran on. */
  channel(): Promise<amqp.Channel>;
  /** Ready messages in a queue, or undefined when it does not exist. */
  messageCount(queue: string): Promise<number | undefined>;
  /** Takes every ready message off a queue (basic.get, acked). */
  drain(queue: string): Promise<amqp.GetMessage[]>;
  close(): Promise<void>;
}

export async function openAdmin(url = AMQP_URL): Promise<AmqpAdmin> {
  const connection = await amqp.connect(url, { noDelay: true });
  connection.on('error', () => {});
  const channel = async () => {
    const ch = await connection.createChannel();
    ch.on('error', () => {});
    return ch;
  };
  return {
    connection,
    channel,
    async messageCount(queue) {
      const ch = await channel();
      try {
        return (await ch.checkQueue(queue)).messageCount;
      } catch {
        return undefined;
      } finally {
        await ch.close().catch(() => {});
      }
    },
    async drain(queue) {
      const ch = await channel();
      const out: amqp.GetMessage[] = [];
      try {
        for (;;) {
          const msg = await ch.get(queue, { noAck: true });
          if (msg === false) break;
          out.push(msg);
        }
      } finally {
        await ch.close().catch(() => {});
      }
      return out;
    },
    async close() {
      await connection.close().catch(() => {});
    },
  };
}

/**
 * rabbitmqctl calls of this test process, one at a time: each starts an Erlang VM that
 * joins the broker's distribution, and a burst of them (a file cleaning up seven scopes at
 * once) was followed, more than once, by the whole broker freezing on this machine.
 */
let cliChain: Promise<unknown> = Promise.resolve();

/** Names of queues (or exchanges) on the broker that start with `prefix`. */
export async function listNames(kind: 'queues' | 'exchanges', prefix: string, node?: string): Promise<string[]> {
  const args = [...(node ? ['-n', node] : []), '-q', `list_${kind}`, 'name'];
  const run = cliChain.then(() => exec('rabbitmqctl', args, { timeout: 30_000 }));
  cliChain = run.catch(() => undefined);
  const { stdout } = await run;
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name.startsWith(prefix));
}

/**
 * Deletes a scope's work queues (`{scope}.jobs.*`), their dead queues, and its full delay
 * topology, plus any extra names given. Safe to call when some never existed.
 */
export async function cleanupScope(scope: string, extra: { queues?: string[]; exchanges?: string[] } = {}, url = AMQP_URL): Promise<void> {
  const topology = delayTopology({ prefix: delayPrefix(scope) });
  let queues = [...topology.queues.map((q) => q.name), ...(extra.queues ?? [])];
  let exchanges = [...topology.exchanges.map((e) => e.name), ...(extra.exchanges ?? [])];
  try {
    queues = [...new Set([...queues, ...(await listNames('queues', `${scope}.`))])];
    exchanges = [...new Set([...exchanges, ...(await listNames('exchanges', `${scope}.`))])];
  } catch {
    // rabbitmqctl unavailable: the known names are still deleted.
  }
  const admin = await openAdmin(url);
  const failed: string[] = [];
  // A failed delete closes its channel: one channel per name, a few tries each (a loaded
  // broker can time out deleting a quorum queue).
  const attempt = async (name: string, del: (ch: amqp.Channel) => Promise<unknown>) => {
    for (let i = 0; i < 3; i++) {
      const ch = await admin.channel();
      try {
        await del(ch);
        return;
      } catch {
        // retried below
      } finally {
        await ch.close().catch(() => {});
      }
    }
    failed.push(name);
  };
  try {
    for (const queue of queues) await attempt(queue, (ch) => ch.deleteQueue(queue));
    for (const exchange of exchanges) await attempt(exchange, (ch) => ch.deleteExchange(exchange));
  } finally {
    await admin.close();
  }
  if (failed.length > 0) console.warn(`[cleanupScope] could not delete: ${failed.join(', ')}`);
}

/** Consumes `queue`, acking each delivery; returns the bodies received so far, as text, in order. */
export async function collectBodies(transport: Transport, queue: string, prefetch: number): Promise<string[]> {
  const got: string[] = [];
  await transport.consume(
    queue,
    (d) => {
      got.push(d.body.toString());
      d.ack();
    },
    { prefetch },
  );
  return got;
}
