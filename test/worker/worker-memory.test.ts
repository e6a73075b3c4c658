/**
 * The worker's own logic on the fake clock with the in-memory store and broker: option
 * validation, claim batching, holding deliveries while the store is down, busy/early
 * re-delays and heartbeat cancellation. The real-service behaviour is in the other files.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { settle } from '../../src/clock.js';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { encodeMessage, messageForRun } from '../../src/broker/envelope.js';
import { defineJob } from '../../src/define/define-job.js';
import type { JobDefinition } from '../../src/define/types.js';
import { workQueueName } from '../../src/names.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { ClaimContext, ClaimRequest, NewRun, RunRecord } from '../../src/store/port.js';
import { createWorker, type WorkerOptions } from '../../src/worker/index.js';
import { thrownBy } from '../helpers/errors.js';
import { closeRigWorkers, memoryWorkerRig, type MemoryWorkerRig } from '../helpers/memory-worker.js';

const SCOPE = 'unit';
const T0 = Date.parse('2026-03-01T00:00:00Z');

interface Rig extends Omit<MemoryWorkerRig, 'enqueue'> {
  claimSizes: number[];
  /** While set, claimRuns waits for it. */
  gate: Promise<void> | null;
  /** While true, claimRuns throws (the database is unreachable). */
  down: boolean;
  enqueue(definition: JobDefinition<any>, runs: Array<Partial<NewRun>>, publish?: boolean): Promise<RunRecord[]>;
}

afterEach(closeRigWorkers);

function rig(): Rig {
  const base = memoryWorkerRig({
    scope: SCOPE,
    start: T0,
    store: (inner) =>
      new Proxy(inner, {
        get(target, prop) {
          if (prop === 'claimRuns') {
            return async (requests: ClaimRequest[], ctx: ClaimContext) => {
              r.claimSizes.push(requests.length);
              if (r.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
              if (r.gate) await r.gate;
              return target.claimRuns(requests, ctx);
            };
          }
          const value = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
  });
  const r: Rig = {
    clock: base.clock,
    inner: base.inner,
    transport: base.transport,
    store: base.store,
    claimSizes: [],
    gate: null,
    down: false,
    worker: base.worker,
    enqueue: async (definition, runs, publish = true) => (await base.enqueue(definition, runs, publish)).runs,
  };
  return r;
}

describe('options', () => {
  const transport = new MemoryTransport();
  const store = new MemoryStore();
  it.each([
    ['neither pool nor store', { transport, scope: 's' }, 'pool', /exactly one of `pool` or `store`, got neither/],
    ['both pool and store', { pool: { query: async () => ({ rows: [] }) }, store, transport, scope: 's' }, 'pool', /got both/],
    ['neither amqpUrl nor transport', { store, scope: 's' }, 'amqpUrl', /exactly one of `amqpUrl` or `transport`/],
    ['both amqpUrl and transport', { store, transport, amqpUrl: 'amqp://x', scope: 's' }, 'amqpUrl', /got both/],
    ['a bad scope', { store, transport, scope: 'Bad Scope' }, 'scope', /expected 1-40 characters/],
    ['a zero concurrency', { store, transport, scope: 's', concurrency: 0 }, 'concurrency', /expected an integer from 1 to 10000, got 0/],
    ['a lease below 1 s', { store, transport, scope: 's', leaseTtl: '10ms' }, 'leaseTtl', /expected a duration >= 1s.*got "10ms"/],
    [
      'a heartbeat not shorter than the lease',
      { store, transport, scope: 's', leaseTtl: '10s', heartbeatInterval: '10s' },
      'heartbeatInterval',
      /shorter than leaseTtl/,
    ],
    ['a bad amqpUrl', { store, amqpUrl: 'http://x', scope: 's' }, 'amqpUrl', /amqp:\/\//],
    ['an empty amqpUrl list', { store, amqpUrl: [], scope: 's' }, 'amqpUrl', /a non-empty array of them, got \[\]/],
    [
      'a bad URL in an amqpUrl list, its password redacted',
      { store, amqpUrl: ['amqp://u:secret@a', 'http://u:secret@b'], scope: 's' },
      'amqpUrl',
      /got \["amqp:\/\/u:\*\*\*@a","http:\/\/u:\*\*\*@b"\]/,
    ],
    ['an unknown option', { store, transport, scope: 's', prefech: 5 }, 'prefech', /unknown option/],
    [
      'a prefetch below the concurrency',
      { store, transport, scope: 's', concurrency: 10, prefetch: 5 },
      'prefetch',
      /expected an integer from 10 \(concurrency\) to 65535, got 5/,
    ],
    ['a bad batch size', { store, transport, scope: 's', batch: { maxSize: 0 } }, 'batch.maxSize', /an integer from 1/],
    [
      'a job without a handler',
      { store, transport, scope: 's', jobs: [{ definition: defineJob({ id: 'x' }) }] },
      'jobs.0.handler',
      /a handler function/,
    ],
  ])('%s → ERR_INVALID_OPTION naming the field', (_name, options, field, message) => {
    const err = thrownBy(() => createWorker(options as WorkerOptions));
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTION', field });
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^Invalid worker option `/);
  });

  it('handle(): chains, refuses a duplicate id and registration after start', async () => {
    const r = rig();
    const a = defineJob({ id: 'a' });
    const w = r.worker([]);
    expect(w.handle(a, async () => {})).toBe(w);
    expect(thrownBy(() => w.handle(a, async () => {}))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'definition.id' });
    await w.start();
    expect(thrownBy(() => w.handle(defineJob({ id: 'b' }), async () => {}))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('handler params are typed by the definition', () => {
    const r = rig();
    const job = defineJob({ id: 'typed', params: z.object({ symbol: z.string(), limit: z.number() }) });
    r.worker([]).handle(job, async (ctx) => {
      const symbol: string = ctx.params.symbol;
      const limit: number = ctx.params.limit;
      // @ts-expect-error not in the schema
      void ctx.params.missing;
      void symbol;
      void limit;
    });
    expect(true).toBe(true);
  });
});

describe('batched claims', () => {
  it('a lone message is claimed at once; deliveries arriving during a claim go together in the next one', async () => {
    const r = rig();
    const job = defineJob({ id: 'batchy', overlap: 'allowAll' });
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const ran: string[] = [];
    const w = r.worker([{ definition: job, handler: async (ctx) => void ran.push(ctx.runId) }]);
    await w.start();
    await r.clock.flush();
    await r.enqueue(job, [{}]);
    await settle();
    expect(r.claimSizes).toEqual([1]);
    expect(ran).toHaveLength(1);
    r.gate = hold;
    await r.enqueue(job, [{}]);
    await settle();
    await r.enqueue(job, [{}, {}, {}, {}, {}]);
    await settle();
    expect(r.claimSizes).toEqual([1, 1]);
    r.gate = null;
    release();
    await settle(10);
    expect(r.claimSizes).toEqual([1, 1, 5]);
    expect(ran).toHaveLength(7);
  });

  it('while the store is down, deliveries stay unacked and claims retry with capped backoff, then proceed', async () => {
    const r = rig();
    const job = defineJob({ id: 'patient', overlap: 'allowAll' });
    const ran: string[] = [];
    const w = r.worker([{ definition: job, handler: async (ctx) => void ran.push(ctx.runId) }]);
    await w.start();
    await r.clock.flush();
    r.down = true;
    await r.enqueue(job, [{}, {}, {}]);
    await r.clock.advance(10_000);
    const queue = workQueueName(SCOPE, job.config.queue);
    expect(r.transport.unackedCount(queue)).toBe(3);
    expect(r.transport.size(queue)).toBe(0); // never nacked back to the queue
    // Backoff, not a hot loop: a handful of attempts in 10 s.
    expect(r.claimSizes.length).toBeGreaterThan(2);
    expect(r.claimSizes.length).toBeLessThan(20);
    expect(ran).toEqual([]);
    r.down = false;
    await r.clock.advance(6_000);
    expect(ran).toHaveLength(3);
    expect(r.transport.unackedCount(queue)).toBe(0);
  });
});

describe('claim outcomes', () => {
  it('busy (bufferOne at maxParallel) re-delays the message by 1 s; early re-delays by the time left', async () => {
    const r = rig();
    const job = defineJob({ id: 'buffered', overlap: 'bufferOne', maxParallel: 1 });
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const ran: string[] = [];
    const w = r.worker([
      {
        definition: job,
        handler: async (ctx) => {
          ran.push(ctx.runId);
          if (ran.length === 1) await hold;
        },
      },
    ]);
    await w.start();
    await r.clock.flush();
    const [first] = await r.enqueue(job, [{}]);
    await settle();
    const [second] = await r.enqueue(job, [{}]);
    await settle(5);
    expect(w.stats().busy).toBe(1);
    expect(r.transport.delayedCount()).toBe(1);
    expect(r.transport.unackedCount(workQueueName(SCOPE, 'buffered'))).toBe(0);
    release();
    await r.clock.advance(1000);
    await settle(5);
    expect(ran).toEqual([first!.runId, second!.runId]);

    // Early: the run is available in 5 s but its trigger arrives now.
    const [later] = await r.enqueue(job, [{ availableAt: new Date(r.clock.now() + 5000) }], false);
    const body = encodeMessage(messageForRun(later!, { timeoutMs: job.config.timeoutMs, maxAttempts: 3, nextDelaySec: null }));
    await r.transport.publish(workQueueName(SCOPE, 'buffered'), body, { messageId: later!.runId });
    await settle(5);
    expect(w.stats().early).toBe(1);
    await r.clock.advance(4000);
    expect(ran).toHaveLength(2);
    await r.clock.advance(1000);
    await settle(5);
    expect(ran).toEqual([first!.runId, second!.runId, later!.runId]);
  });

  it('cancelOther: the heartbeat aborts the older run, which is recorded cancelled', async () => {
    const r = rig();
    const job = defineJob({ id: 'replace', overlap: 'cancelOther', maxParallel: 1 });
    const reasons: unknown[] = [];
    const w = r.worker(
      [
        {
          definition: job,
          handler: (ctx) =>
            new Promise<void>((resolve, reject) => {
              if (ctx.attempt === 1 && reasons.length === 0 && ctx.params.wait !== false) {
                ctx.signal.addEventListener('abort', () => {
                  reasons.push(ctx.signal.reason);
                  reject(ctx.signal.reason);
                });
              } else resolve();
            }),
        },
      ],
      { leaseTtl: '30s', heartbeatInterval: '1s' },
    );
    await w.start();
    await r.clock.flush();
    const [old] = await r.enqueue(job, [{}]);
    await settle();
    const [fresh] = await r.enqueue(job, [{ params: { wait: false } }]);
    await settle(5);
    await r.clock.advance(1000);
    await settle(5);
    expect(reasons).toHaveLength(1);
    expect((await r.inner.getRun(old!.runId))?.status).toBe('cancelled');
    expect((await r.inner.getRun(fresh!.runId))?.status).toBe('succeeded');
  });
});

describe('params', () => {
  it('params the definition rejects fail the run at once (dead, not retried), with the reason', async () => {
    const r = rig();
    const job = defineJob({ id: 'strict', params: z.object({ n: z.number() }), defaultParams: { n: 1 }, retry: { maxAttempts: 5 } });
    let calls = 0;
    const w = r.worker([{ definition: job, handler: async () => void (calls += 1) }]);
    await w.start();
    await r.clock.flush();
    const [run] = await r.enqueue(job, [{ params: { n: 'not a number' } }]);
    await settle(10);
    const row = await r.inner.getRun(run!.runId);
    expect(calls).toBe(0);
    expect(row).toMatchObject({ status: 'dead', attempt: 1 });
    expect(row!.error).toMatch(/invalid params: .*params\.n/);
    const dead = r.transport.deadLetters(workQueueName(SCOPE, 'strict'));
    expect(dead).toHaveLength(1);
    expect(String(dead[0]!.headers['x-warren-reason'])).toMatch(/^non-retryable failure: invalid params/);
  });
});
