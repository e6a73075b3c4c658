import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delayTopology, MAX_DELAY_SEC, cleanHeaders } from '../../src/broker/delay-topology.js';
import { isWarrenError } from '../../src/errors.js';
import { delayPrefix, workQueueName } from '../../src/names.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { cleanupScope } from '../helpers/amqp.js';
import { waitFor } from '../helpers/wait.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isWarrenError(err) ? err.code : String(err);
  }
  return undefined;
}

const zeros = (n: number) => Array.from({ length: n }, () => '0').join('.');

describe('delayTopology as data', () => {
  const t = delayTopology({ prefix: 'sc.delay' });

  it('encodes the delay bits most significant first, then the queue', () => {
    expect(t.routingKey(0, 'q')).toBe(`${zeros(28)}.q`);
    expect(t.routingKey(1, 'q')).toBe(`${zeros(27)}.1.q`);
    expect(t.routingKey(10, 'sc.jobs.a')).toBe(`${zeros(24)}.1.0.1.0.sc.jobs.a`);
    expect(t.routingKey(28, 'q')).toBe(`${zeros(23)}.1.1.1.0.0.q`);
    expect(t.routingKey(MAX_DELAY_SEC, 'q')).toBe(`${Array.from({ length: 28 }, () => '1').join('.')}.q`);
    expect(t.routingKey(-5, 'q')).toBe(t.routingKey(0, 'q'));
    // "Not before": a fraction rounds up.
    expect(t.routingKey(1.2, 'q')).toBe(t.routingKey(2, 'q'));
    expect(codeOf(() => t.routingKey(MAX_DELAY_SEC + 1, 'q'))).toBe('ERR_DELAY_OUT_OF_RANGE');
    expect(codeOf(() => t.routingKey(MAX_DELAY_SEC + 0.5, 'q'))).toBe('ERR_DELAY_OUT_OF_RANGE');
    expect(codeOf(() => t.routingKey(Number.NaN, 'q'))).toBe('ERR_DELAY_OUT_OF_RANGE');
    expect(codeOf(() => t.routingKey(Number.POSITIVE_INFINITY, 'q'))).toBe('ERR_DELAY_OUT_OF_RANGE');
  });

  it('declares 28 levels, each waiting 2^L s and dead-lettering one level down', () => {
    expect(t.entryExchange).toBe('sc.delay.L27');
    expect(t.deliveryExchange).toBe('sc.delay.deliver');
    const levels = t.queues.filter((q) => /\.L\d+$/.test(q.name));
    expect(levels).toHaveLength(28);
    for (const q of levels) {
      const level = Number(q.name.slice(q.name.lastIndexOf('.L') + 2));
      expect(q.arguments).toEqual({
        'x-queue-type': 'quorum',
        'x-message-ttl': 2 ** level * 1000,
        'x-dead-letter-exchange': level === 0 ? 'sc.delay.deliver' : `sc.delay.L${level - 1}`,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      });
      expect(q.arguments).not.toHaveProperty('x-expires');
    }
    const deliver = t.exchanges.find((e) => e.name === 'sc.delay.deliver');
    expect(deliver?.arguments).toEqual({ 'alternate-exchange': 'sc.delay.unroutable' });
  });

  it('binds each level on its own bit: 1 → its queue, 0 → the next exchange', () => {
    const of = (source: string) => t.bindings.filter((b) => b.source === source);
    expect(of('sc.delay.L27')).toEqual([
      { kind: 'queue', source: 'sc.delay.L27', destination: 'sc.delay.L27', pattern: '1.#' },
      { kind: 'exchange', source: 'sc.delay.L27', destination: 'sc.delay.L26', pattern: '0.#' },
    ]);
    expect(of('sc.delay.L25').map((b) => b.pattern)).toEqual(['*.*.1.#', '*.*.0.#']);
    expect(of('sc.delay.L0')).toEqual([
      { kind: 'queue', source: 'sc.delay.L0', destination: 'sc.delay.L0', pattern: `${'*.'.repeat(27)}1.#` },
      { kind: 'exchange', source: 'sc.delay.L0', destination: 'sc.delay.deliver', pattern: `${'*.'.repeat(27)}0.#` },
    ]);
    expect(t.targetPattern('sc.jobs.a')).toBe(`${'*.'.repeat(28)}sc.jobs.a`);
  });

  it('builds classic level queues without quorum-only arguments', () => {
    const classic = delayTopology({ prefix: 'sc.delay', queueType: 'classic' });
    const l3 = classic.queues.find((q) => q.name === 'sc.delay.L3');
    expect(l3?.arguments).toEqual({ 'x-queue-type': 'classic', 'x-message-ttl': 8000, 'x-dead-letter-exchange': 'sc.delay.L2' });
  });

  it('rejects bad options with the field named', () => {
    expect(codeOf(() => delayTopology({ prefix: '' }))).toBe('ERR_INVALID_OPTION');
    expect(codeOf(() => delayTopology({ prefix: 'amq.x' }))).toBe('ERR_INVALID_OPTION');
    expect(codeOf(() => delayTopology({ prefix: 'ok', queueType: 'lazy' as 'classic' }))).toBe('ERR_INVALID_OPTION');
  });

  it('strips dead-lettering headers from a republish', () => {
    expect(cleanHeaders({ a: 1, 'x-death': [], 'x-first-death-queue': 'q', 'x-last-death-reason': 'expired' })).toEqual({ a: 1 });
  });
});

describe('delayTopology on RabbitMQ', () => {
  const scope = uniqueToken('delay_topo');
  const topology = delayTopology({ prefix: delayPrefix(scope) });
  const queue = workQueueName(scope, 'target');
  let connection: amqp.ChannelModel;
  let channel: amqp.ConfirmChannel;
  const arrivals: Array<{ id: string; at: number; msg: amqp.ConsumeMessage }> = [];

  beforeAll(async () => {
    connection = await amqp.connect(AMQP_URL, { noDelay: true });
    channel = await connection.createConfirmChannel();
    await topology.assert(channel);
    await topology.assert(channel); // same arguments: idempotent, no 406
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await topology.bindTarget(channel, queue);
    await channel.consume(queue, (msg) => {
      if (!msg) return;
      arrivals.push({ id: String(msg.properties.messageId), at: Date.now(), msg });
      channel.ack(msg);
    });
  });

  afterAll(async () => {
    await connection?.close().catch(() => {});
    await cleanupScope(scope);
  });

  const arrival = (id: string) => waitFor(() => arrivals.find((a) => a.id === id), `message ${id}`);

  it('delivers real 1-3 s delays no earlier than asked', async () => {
    const sent: Array<{ id: string; delay: number; at: number }> = [];
    for (const delay of [3, 1, 2]) {
      const id = `d${delay}`;
      const at = Date.now();
      await topology.publish(channel, queue, Buffer.from(id), { delay, messageId: id });
      sent.push({ id, delay, at });
    }
    for (const s of sent) {
      const a = await arrival(s.id);
      expect(a.at).toBeGreaterThanOrEqual(s.at + s.delay * 1000);
      expect(a.msg.properties.expiration).toBeUndefined();
    }
  });

  it('delivers a 1 s delay published after a 6 s one first (no head-of-line blocking)', async () => {
    await topology.publish(channel, queue, Buffer.from('long'), { delay: 6, messageId: 'long' });
    const shortAt = Date.now();
    await topology.publish(channel, queue, Buffer.from('short'), { delay: 1, messageId: 'short' });
    const short = await arrival('short');
    expect(short.at).toBeGreaterThanOrEqual(shortAt + 1000);
    expect(arrivals.find((a) => a.id === 'long')).toBeUndefined();
    const long = await arrival('long');
    expect(long.at).toBeGreaterThan(short.at);
  });

  it('keeps a self-rescheduling chain crossing several levels alive over 5 links', async () => {
    const chainQueue = workQueueName(scope, 'chain');
    await channel.assertQueue(chainQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await topology.bindTarget(channel, chainQueue);
    const links: Array<{ hop: number; at: number; deaths: number }> = [];
    await channel.consume(chainQueue, (msg) => {
      if (!msg) return;
      const headers = msg.properties.headers ?? {};
      const hop = Number(headers['x-hop']);
      links.push({ hop, at: Date.now(), deaths: Array.isArray(headers['x-death']) ? headers['x-death'].length : 0 });
      channel.ack(msg);
      // A naive consumer copies the headers it received, x-death included: publish must
      // build them afresh, or RabbitMQ sees a dead-letter cycle and drops the message.
      if (hop < 5)
        void topology.publish(channel, chainQueue, msg.content, {
          delay: 3,
          messageId: `hop${hop + 1}`,
          headers: { ...headers, 'x-hop': hop + 1 },
        });
    });
    const start = Date.now();
    await topology.publish(channel, chainQueue, Buffer.from('chain'), { delay: 3, messageId: 'hop1', headers: { 'x-hop': 1 } });
    await waitFor(() => links.length >= 5, '5 chain links', { timeoutMs: 45_000 });
    expect(links.map((l) => l.hop)).toEqual([1, 2, 3, 4, 5]);
    // 3 s = bits 1 and 0: each link waited in two level queues.
    for (const l of links) expect(l.deaths).toBe(2);
    for (let i = 0; i < links.length; i++) expect(links[i]!.at).toBeGreaterThanOrEqual(start + (i + 1) * 3000);
  });

  it('routes a delayed message for a deleted queue to the unroutable queue', async () => {
    const gone = workQueueName(scope, 'gone');
    await topology.publish(channel, gone, Buffer.from('orphan'), { delay: 1, messageId: 'orphan' });
    const admin = await connection.createChannel();
    const got = await waitFor(async () => {
      const msg = await admin.get(topology.unroutableQueue, { noAck: true });
      return msg === false ? undefined : msg;
    }, 'the orphan in the unroutable queue');
    expect(got.properties.messageId).toBe('orphan');
    expect(got.fields.routingKey).toBe(topology.routingKey(1, gone));
    await admin.close();
  });
});
