/**
 * `pgbouncer: true` is the one place a PgBouncer (transaction mode) deployment says so: the
 * scheduler and worker send no named prepared statements and the scheduler issues no
 * LISTEN (the safety tick covers what notifications would have woken). The pool is a real
 * pg.Pool; a thin wrapper only records the statements sent through it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { defineJob } from '../../src/define/define-job.js';
import { createScheduler } from '../../src/scheduler/index.js';
import { parseSchedulerOptions } from '../../src/scheduler/options.js';
import { resolveWorkerOptions } from '../../src/worker/options.js';
import { migrate } from '../../src/store/migrate.js';
import { createWorker } from '../../src/worker/index.js';
import { uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { waitFor } from '../helpers/wait.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('pgbouncer');
  await migrate(db.pool, { schema: db.schema });
});

afterAll(async () => {
  await db?.drop();
});

interface Sent {
  named: number;
  listens: number;
  statements: number;
}

/** The real pool, counting named (prepared) statements and LISTENs, on the pool and on checked-out clients. */
function recording(pool: pg.Pool): { pool: pg.Pool; sent: Sent } {
  const sent: Sent = { named: 0, listens: 0, statements: 0 };
  const note = (arg: unknown) => {
    sent.statements += 1;
    const text = typeof arg === 'string' ? arg : ((arg as { text?: string; name?: string }).text ?? '');
    if (typeof arg === 'object' && arg !== null && typeof (arg as { name?: unknown }).name === 'string') sent.named += 1;
    if (/^\s*LISTEN\b/i.test(text)) sent.listens += 1;
  };
  const wrapped = {
    query: (arg: unknown, values?: unknown[]) => {
      note(arg);
      return pool.query(arg as string, values);
    },
    connect: async () => {
      const client = await pool.connect();
      return new Proxy(client, {
        get(target, prop, receiver) {
          if (prop !== 'query') return Reflect.get(target, prop, receiver);
          return (arg: unknown, values?: unknown[]) => {
            note(arg);
            return target.query(arg as string, values);
          };
        },
      });
    },
  };
  return { pool: wrapped as unknown as pg.Pool, sent };
}

describe('pgbouncer: true', () => {
  const job = defineJob({ id: 'tick', schedule: { every: '1s' } });

  it('sends no prepared statement and no LISTEN; the default does both', async () => {
    const results: Record<string, Sent> = {};
    for (const pgbouncer of [true, false]) {
      const { pool, sent } = recording(db.pool);
      const scope = uniqueToken(`pgb_${pgbouncer}`).replace(/_/g, '-');
      const transport = new MemoryTransport();
      const scheduler = createScheduler({
        pool,
        schema: db.schema,
        scope,
        transport,
        jobs: [job],
        pgbouncer,
        migrate: false,
        safetyTick: '200ms',
      });
      const worker = createWorker({ pool, schema: db.schema, scope, transport, pgbouncer, jobs: [{ definition: job, handler: () => {} }] });
      await scheduler.start();
      await worker.start();
      await Promise.all([scheduler.ready({ timeout: '30s' }), worker.ready({ timeout: '30s' })]);
      // A slot published by the leader and run by the worker: the hot path ran both ways.
      await waitFor(
        async () => (await scheduler.runs('tick', { status: ['succeeded'] })).length > 0,
        `a run to succeed (pgbouncer: ${pgbouncer})`,
      );
      await worker.close();
      await scheduler.close();
      await transport.close();
      results[String(pgbouncer)] = { ...sent };
    }
    expect(results.true).toMatchObject({ named: 0, listens: 0 });
    expect(results.false!.named).toBeGreaterThan(0);
    expect(results.false!.listens).toBeGreaterThan(0);
  });

  it('turns the liveness lock off unless a livenessClient goes around PgBouncer', () => {
    const base = { pool: db.pool, scope: 'x', transport: new MemoryTransport() };
    expect(parseSchedulerOptions({ ...base, pgbouncer: true }).liveness).toBe(false);
    expect(parseSchedulerOptions({ ...base, pgbouncer: true, livenessClient: () => new pg.Client() }).liveness).toBe(true);
    expect(parseSchedulerOptions(base).liveness).toBe(true);
    expect(resolveWorkerOptions({ ...base, pgbouncer: true }).liveness).toBe(false);
    expect(resolveWorkerOptions({ ...base, pgbouncer: true, livenessClient: () => new pg.Client() }).liveness).toBe(true);
    expect(resolveWorkerOptions({ ...base, pgbouncer: true, liveness: true }).liveness).toBe(true);
  });

  it('is validated like any option', () => {
    expect(() => createScheduler({ pool: db.pool, scope: 'x', role: 'control-only', pgbouncer: 'yes' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', field: 'pgbouncer' }),
    );
    expect(() => createWorker({ pool: db.pool, scope: 'x', transport: new MemoryTransport(), pgbouncer: 1 as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', field: 'pgbouncer' }),
    );
  });
});
