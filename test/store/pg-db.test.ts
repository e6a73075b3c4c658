import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlRunner } from '../../src/store/pg/db.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

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
});
