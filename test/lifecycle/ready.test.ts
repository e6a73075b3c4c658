/**
 * One lifecycle for the scheduler and the worker: `start()` never throws for an
 * unreachable service, `ready({ timeout })` tells. Real connection strings against the real
 * services: a wrong RabbitMQ password, a Postgres role that does not exist (the test
 * database trusts any password, so the role is what it refuses), an unresolvable host, a
 * closed port.
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { isWarrenError, type WarrenError } from '../../src/errors.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { migrate } from '../../src/store/migrate.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_URL, DATABASE_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { waitFor } from '../helpers/wait.js';

let db: TestDatabase;
let scope: string;
let closedPort: number;
const pools: pg.Pool[] = [];
const closers: Array<Scheduler | Worker> = [];
const job = defineJob({ id: 'ready-probe' });

function poolFor(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  pools.push(pool);
  return pool;
}

function withUrl(base: string, change: (url: URL) => void): string {
  const url = new URL(base);
  change(url);
  return url.toString();
}

/**
 * `ready({ timeout })`'s rejection once the component has seen a connection error: a first
 * attempt may still be on its way when a short timeout passes (then the rejection says "no
 * error seen yet"), so it is asked again until one carries a cause.
 */
async function notReady(component: Scheduler | Worker): Promise<WarrenError> {
  return waitFor(
    async () => {
      const error = await component.ready({ timeout: '1s' }).then(
        () => new Error('expected ready() to reject'),
        (e: unknown) => e,
      );
      if (!isWarrenError(error, 'ERR_NOT_READY')) throw error;
      return error.cause === undefined ? null : error;
    },
    'ready() to reject with a connection error',
    { timeoutMs: 30_000 },
  );
}

/** The codes along an error's `cause` chain: ERR_NOT_READY → ERR_MIGRATION_FAILED → ECONNREFUSED. */
function causeCodes(error: unknown): unknown[] {
  const codes: unknown[] = [];
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e !== undefined && e !== null; e = e.cause as typeof e)
    codes.push(e.code);
  return codes;
}

const track = <T extends Scheduler | Worker>(component: T): T => {
  closers.push(component);
  return component;
};

beforeAll(async () => {
  db = await createTestDatabase('ready');
  await migrate(db.pool, { schema: db.schema });
  scope = uniqueToken('ready').replace(/_/g, '-');
  // A port nothing listens on: bound, then released.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closedPort = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterAll(async () => {
  await Promise.all(closers.map((c) => c.close()));
  await Promise.all(pools.map((p) => p.end().catch(() => {})));
  await db?.drop();
});

describe('ready({ timeout }) rejects with the last connection error', () => {
  it('a wrong RabbitMQ password (worker and scheduler)', async () => {
    const amqpUrl = withUrl(AMQP_URL, (u) => (u.password = 'wrong-password'));
    const worker = track(
      createWorker({ pool: db.pool, schema: db.schema, amqpUrl, scope, jobs: [{ definition: job, handler: () => {} }] }),
    );
    await worker.start(); // resolves: boot in any order
    const error = await notReady(worker);
    expect(error.message).toMatch(/^worker .+ not ready after 1s: .*ACCESS.REFUSED/);
    expect(String((error.cause as Error).message)).toMatch(/ACCESS.REFUSED/);
    expect(worker.state).toBe('starting');

    const scheduler = track(createScheduler({ pool: db.pool, schema: db.schema, amqpUrl, scope }));
    await scheduler.start();
    expect(String(((await notReady(scheduler)).cause as Error).message)).toMatch(/ACCESS.REFUSED/);
    expect(scheduler.state).toBe('starting');
  });

  it('a Postgres role that does not exist (scheduler and worker)', async () => {
    const pool = poolFor(withUrl(DATABASE_URL, (u) => (u.username = 'warren_no_such_role')));
    // Without migrations the scheduler retries (the role may be on its way) and ready() tells.
    const scheduler = track(createScheduler({ pool, schema: db.schema, amqpUrl: AMQP_URL, scope, migrate: false }));
    await scheduler.start();
    const error = await notReady(scheduler);
    expect(causeCodes(error)).toContain('28000');
    expect(error.message).toContain('role "warren_no_such_role" does not exist');
    // A migration Postgres refuses is a configuration error: start() rejects, and ready() with it.
    const migrating = track(createScheduler({ pool, schema: db.schema, amqpUrl: AMQP_URL, scope }));
    const fatal = await migrating.start().catch((e: unknown) => e);
    expect(causeCodes(fatal)).toEqual(['ERR_MIGRATION_FAILED', '28000']);
    await expect(migrating.ready()).rejects.toBe(fatal);

    const worker = track(
      createWorker({ pool, schema: db.schema, amqpUrl: AMQP_URL, scope, jobs: [{ definition: job, handler: () => {} }] }),
    );
    await worker.start();
    expect((await notReady(worker)).cause).toMatchObject({ code: '28000' });
  });

  it('an unresolvable host', async () => {
    const amqpUrl = withUrl(AMQP_URL, (u) => (u.hostname = 'warren-no-such-host.invalid'));
    const scheduler = track(createScheduler({ pool: db.pool, schema: db.schema, amqpUrl, scope }));
    await scheduler.start();
    expect((await notReady(scheduler)).cause).toMatchObject({ code: 'ENOTFOUND' });

    const pool = poolFor(withUrl(DATABASE_URL, (u) => (u.hostname = 'warren-no-such-host.invalid')));
    const worker = track(
      createWorker({ pool, schema: db.schema, amqpUrl: AMQP_URL, scope, jobs: [{ definition: job, handler: () => {} }] }),
    );
    await worker.start();
    expect((await notReady(worker)).cause).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('a closed port', async () => {
    const amqpUrl = withUrl(AMQP_URL, (u) => (u.port = String(closedPort)));
    const worker = track(
      createWorker({ pool: db.pool, schema: db.schema, amqpUrl, scope, jobs: [{ definition: job, handler: () => {} }] }),
    );
    await worker.start();
    expect((await notReady(worker)).cause).toMatchObject({ code: 'ECONNREFUSED' });

    const pool = poolFor(withUrl(DATABASE_URL, (u) => (u.port = String(closedPort))));
    const scheduler = track(createScheduler({ pool, schema: db.schema, amqpUrl: AMQP_URL, scope }));
    await scheduler.start();
    expect(causeCodes(await notReady(scheduler))).toEqual(['ERR_NOT_READY', 'ERR_MIGRATION_FAILED', 'ECONNREFUSED']);
  });
});

describe('one lifecycle', () => {
  it('resolves when connected, states follow, and Symbol.asyncDispose closes both', async () => {
    let outside: { scheduler: Scheduler; worker: Worker } | undefined;
    {
      await using scheduler = createScheduler({ pool: db.pool, schema: db.schema, amqpUrl: AMQP_URL, scope });
      await using worker = createWorker({
        pool: db.pool,
        schema: db.schema,
        amqpUrl: AMQP_URL,
        scope,
        jobs: [{ definition: job, handler: () => {} }],
      });
      expect([scheduler.state, worker.state]).toEqual(['idle', 'idle']);
      await Promise.all([scheduler.start(), worker.start()]);
      await Promise.all([scheduler.ready({ timeout: '30s' }), worker.ready({ timeout: 30 })]);
      expect([scheduler.state, worker.state]).toEqual(['running', 'running']);
      // Once ready, ready() resolves at once.
      await scheduler.ready();
      outside = { scheduler, worker };
    }
    expect([outside.scheduler.state, outside.worker.state]).toEqual(['closed', 'closed']);
    await expect(outside.scheduler.ready()).rejects.toSatisfy((e) => isWarrenError(e, 'ERR_CLOSED'));
    await expect(outside.worker.ready()).rejects.toSatisfy((e) => isWarrenError(e, 'ERR_CLOSED'));
  });

  it('close() rejects a pending ready() with ERR_CLOSED; an aborted signal rejects with its reason', async () => {
    const amqpUrl = withUrl(AMQP_URL, (u) => (u.port = String(closedPort)));
    const worker = createWorker({ pool: db.pool, schema: db.schema, amqpUrl, scope, jobs: [{ definition: job, handler: () => {} }] });
    await worker.start();
    const controller = new AbortController();
    const aborted = worker.ready({ signal: controller.signal });
    controller.abort(new Error('deploy cancelled'));
    await expect(aborted).rejects.toThrow('deploy cancelled');
    const pending = worker.ready().catch((e: unknown) => e);
    await worker.close();
    expect(isWarrenError(await pending, 'ERR_CLOSED')).toBe(true);
  });

  it('names a bad timeout', async () => {
    const scheduler = createScheduler({ pool: db.pool, schema: db.schema, amqpUrl: AMQP_URL, scope });
    await expect(scheduler.ready({ timeout: 'soon' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'timeout' });
    await scheduler.close();
  });
});
