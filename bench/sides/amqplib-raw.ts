import amqp from 'amqplib';
import { elapsedSince, sampleBody, withDeadline, type ThroughputResult } from './common.js';

export interface RawOptions {
  url: string;
  queue: string;
  jobs: number;
  prefetch: number;
  queueType: 'quorum' | 'classic';
  timeoutMs: number;
  /** Publishes in flight awaiting their confirm. */
  publishWindow?: number;
}

/**
 * The reference: raw amqplib with nothing else. Publishes `jobs` persistent messages on a
 * confirm channel (waiting for every confirm), then consumes them with `prefetch` and acks
 * each after parsing its JSON (the no-op). Measured: first delivery → last ack written.
 */
export async function runAmqplibRaw(opts: RawOptions): Promise<ThroughputResult> {
  const url = `${opts.url}${opts.url.includes('?') ? '&' : '?'}heartbeat=30`;
  // Nagle's algorithm delays small frames (acks) by up to ~40 ms: always noDelay.
  const conn = await amqp.connect(url, { noDelay: true });
  try {
    const pub = await conn.createConfirmChannel();
    await pub.assertQueue(opts.queue, { durable: true, arguments: { 'x-queue-type': opts.queueType } });
    await pub.purgeQueue(opts.queue);

    const window = opts.publishWindow ?? 1000;
    const publishStart = performance.now();
    let inFlight: Promise<void>[] = [];
    for (let i = 0; i < opts.jobs; i++) {
      inFlight.push(
        new Promise<void>((resolve, reject) => {
          pub.sendToQueue(
            opts.queue,
            sampleBody(i, 'raw'),
            { persistent: true, messageId: String(i), contentType: 'application/json' },
            (err) => (err ? reject(err) : resolve()),
          );
        }),
      );
      if (inFlight.length >= window) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);
    const enqueueMs = elapsedSince(publishStart);
    await pub.close();

    const ch = await conn.createChannel();
    await ch.prefetch(opts.prefetch);
    let first = 0;
    let count = 0;
    let last = 0;
    const done = new Promise<void>((resolve) => {
      void ch.consume(
        opts.queue,
        (msg) => {
          if (!msg) return;
          if (first === 0) first = performance.now();
          JSON.parse(msg.content.toString('utf8'));
          ch.ack(msg);
          if (++count === opts.jobs) {
            last = performance.now();
            resolve();
          }
        },
        { noAck: false },
      );
    });
    await withDeadline(done, opts.timeoutMs, `amqplib raw prefetch ${opts.prefetch}`);
    const drainMs = last - first;
    // Acks are asynchronous in AMQP: a queue declare round-trip after the last ack proves the broker has them.
    const check = await ch.checkQueue(opts.queue);
    await ch.close();
    return {
      side: `amqplib raw (prefetch ${opts.prefetch})`,
      jobs: opts.jobs,
      concurrency: opts.prefetch,
      enqueueMs,
      drainMs,
      jobsPerSec: (opts.jobs / drainMs) * 1000,
      notes: [`${opts.queueType} queue, persistent, confirm channel for publishing; ${check.messageCount} messages left after the drain`],
    };
  } finally {
    try {
      const ch = await conn.createChannel();
      await ch.deleteQueue(opts.queue);
      await ch.close();
    } catch {
      /* best effort cleanup */
    }
    await conn.close().catch(() => {});
  }
}
