import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { delayTopology, delayPrefix } from './warren.js';

const exec = promisify(execFile);

async function listNames(kind: 'queues' | 'exchanges', prefix: string): Promise<string[]> {
  try {
    const { stdout } = await exec('rabbitmqctl', ['-q', `list_${kind}`, 'name'], { timeout: 30_000 });
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/**
 * Deletes what a bench scope declared: its work and dead queues and its whole delay
 * topology (28 level exchanges and queues), so repeated runs leave the broker as found.
 */
export async function deleteScopeTopology(url: string, scope: string): Promise<void> {
  const topology = delayTopology({ prefix: delayPrefix(scope) });
  const queues = new Set([...topology.queues.map((q) => q.name), ...(await listNames('queues', `${scope}.`))]);
  const exchanges = new Set([...topology.exchanges.map((e) => e.name), ...(await listNames('exchanges', `${scope}.`))]);
  const conn = await amqp.connect(url, { noDelay: true });
  conn.on('error', () => {});
  try {
    // A failed delete closes its channel (404), so each gets a fresh one.
    for (const q of queues) {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      await ch.deleteQueue(q).catch(() => {});
      await ch.close().catch(() => {});
    }
    for (const e of exchanges) {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      await ch.deleteExchange(e).catch(() => {});
      await ch.close().catch(() => {});
    }
  } finally {
    await conn.close().catch(() => {});
  }
}
