import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlRunner } from '../../src/store/pg/db.js';
import { DATABASE_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

/**
 * A proxy that delivers a new connection's startup answer (…ReadyForQuery) only together
 * with the FATAL of its backend's termination, in one write: what a busy host reads in one
 * chunk when pg_terminate_backend (or a shutdown) hits a connection as it opens.
 */
async function startOneChunkKiller(kill: () => Promise<unknown>): Promise<{ port: number; close(): Promise<void> }> {
  const target = new URL(DATABASE_URL);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: target.hostname, port: Number(target.port || 5432) });
    sockets.add(client).add(upstream);
    let held = Buffer.alloc(0);
    let killing = false;
    let holding = true;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!holding) return void client.write(chunk);
      held = Buffer.concat([held, chunk]);
      // ReadyForQuery is 'Z' + int32 5 + status: the startup is complete.
      if (!killing && held.length >= 6 && held[held.length - 6] === 0x5a) {
        killing = true;
        void kill();
      }
      if (killing && held.includes('57P01')) {
        holding = false;
        client.write(held);
      }
    });
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('SqlRunner on a pool', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pgdb');
  });
  afterAll(async () => {
    await db.drop();
  });

  // node-postgres emits the error of a checked-out client's connection on the client,
  // where no pool listener is attached; unheard, it is an uncaught exception that takes
  // the host down (vitest fails the run on it). The transaction must reject instead.
  it('a connection killed inside a transaction rejects it and crashes nothing', async () => {
    const pool = db.newPool(2);
    const runner = new SqlRunner(pool);
    const admin = db.newPool(1);
    const tx = runner.transaction(async (q) => {
      const { rows } = await q.query('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await q.query('SELECT 1');
    });
    await expect(tx).rejects.toThrow();
    // The pool replaced the destroyed client and still answers.
    const { rows } = await runner.query('SELECT 1 AS one');
    expect(rows[0]!.one).toBe(1);
  });

  // Found by the chaos suite (Postgres bursts): the FATAL came in the same read as the
  // startup's ReadyForQuery, before `await pool.connect()` resumed to add the listener.
  it('a connection killed as it opens (startup and FATAL in one read) rejects the transaction and crashes nothing', async () => {
    const name = uniqueToken('oneread');
    const admin = db.newPool(1);
    const proxy = await startOneChunkKiller(() =>
      admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]),
    );
    const url = new URL(DATABASE_URL);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const pool = new pg.Pool({ connectionString: url.toString(), application_name: name, max: 1 });
    pool.on('error', () => {});
    try {
      const tx = new SqlRunner(pool).transaction((q) => q.query('SELECT 1'));
      await expect(tx).rejects.toThrow(/terminat|not queryable/);
    } finally {
      await pool.end().catch(() => {});
      await proxy.close();
    }
  });
});
