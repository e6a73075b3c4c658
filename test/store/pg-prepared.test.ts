/**
 * PgStore's named prepared statements: two schemas sharing one connection never share a
 * statement name, a bare pg.Client prepares too, and `preparedStatements: false` prepares nothing.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWarrenError } from '../../src/errors.js';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import { randomUUID } from '../../src/util/uuid.js';
import { DATABASE_URL, uniqueToken } from '../helpers/env.js';
import { type TestDatabase, createTestDatabase } from '../helpers/pg.js';
import { at, config, pendingRun } from '../helpers/pg-fixtures.js';

let a: TestDatabase;
let b: TestDatabase;
/** One connection for both stores: a name clash would surface on it. */
let shared: pg.Pool;

beforeAll(async () => {
  a = await createTestDatabase('pg_prep_a');
  b = await createTestDatabase('pg_prep_b');
  await migrate(a.pool, { schema: a.schema });
  await migrate(b.pool, { schema: b.schema });
  shared = a.newPool(1);
});

afterAll(async () => {
  await a.drop();
  await b.drop();
});

/** One job's run through insert → publish → claim → heartbeat → complete. */
async function cycle(store: PgStore, scope: string, jobId: string, n: number, worker: string): Promise<void> {
  const now = at(n * 1000);
  await store.upsertJob(scope, jobId, config(), { now, nextDueAt: null });
  const runId = randomUUID();
  const [inserted] = await store.insertRuns(scope, [pendingRun(runId, jobId, now)], now);
  expect(inserted?.runId).toBe(runId);
  await store.markPublished([{ runId, attempt: 1 }], now);
  const [claim] = await store.claimRuns([{ runId, attempt: 1 }], { workerId: worker, now, leaseMs: 60_000 });
  expect(claim?.outcome).toBe('claimed');
  expect((await store.heartbeat([runId], { workerId: worker, now, leaseMs: 60_000 })).extended).toEqual([runId]);
  const [done] = await store.completeRuns([
    { runId, attempt: 1, status: 'succeeded', finishedAt: now, error: null, guard: { workerId: worker } },
  ]);
  expect(done?.applied).toBe(true);
  expect((await store.getRun(runId))?.status).toBe('succeeded');
  expect((await store.runningCounts(scope, [jobId], now)).get(jobId)).toEqual({ running: 0, pending: 0 });
}

async function preparedNames(q: { query(text: string): Promise<{ rows: Array<{ name: string }> }> }): Promise<string[]> {
  return (await q.query('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map((r) => r.name);
}

describe('PgStore preparedStatements', () => {
  it('two schemas over one connection, interleaved, prepare their own statements', async () => {
    const storeA = new PgStore({ pool: shared, schema: a.schema });
    const storeB = new PgStore({ pool: shared, schema: b.schema });
    const scope = uniqueToken('prep');
    for (let i = 0; i < 3; i++) {
      await cycle(storeA, scope, 'job', i, 'wa');
      await cycle(storeB, scope, 'job', i, 'wb');
    }
    // Concurrently as well: the pool hands the one connection to each statement in turn.
    await Promise.all([cycle(storeA, scope, 'job2', 10, 'wa'), cycle(storeB, scope, 'job2', 10, 'wb')]);
    // Each schema's rows went to its own tables.
    const count = async (schema: string) =>
      Number((await shared.query(`SELECT count(*) AS n FROM "${schema}".runs WHERE status = 'succeeded'`)).rows[0].n);
    expect(await count(a.schema)).toBe(4);
    expect(await count(b.schema)).toBe(4);
    const names = await preparedNames(shared);
    const claims = names.filter((n) => n.startsWith('warren_readJobsAndRuns_'));
    expect(claims).toHaveLength(2);
    expect(names.filter((n) => n.startsWith('warren_heartbeat_'))).toHaveLength(2);
    await storeA.close();
    await storeB.close();
  });

  it('a bare pg.Client prepares the hot statements too', async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      const store = new PgStore({ pool: client, schema: a.schema });
      await cycle(store, uniqueToken('prep_client'), 'job', 20, 'wc');
      const names = await preparedNames(client);
      for (const key of ['insertRuns', 'markPublished', 'claimStraight', 'updateRunsAndJobsIfUnchanged', 'heartbeat', 'runningCounts']) {
        expect(
          names.some((n) => n.startsWith(`warren_${key}_`)),
          key,
        ).toBe(true);
      }
      await store.close();
    } finally {
      await client.end();
    }
  });

  it('preparedStatements: false sends plain text (nothing prepared)', async () => {
    const pool = a.newPool(1);
    const store = new PgStore({ pool, schema: a.schema, preparedStatements: false });
    await cycle(store, uniqueToken('prep_off'), 'job', 30, 'wd');
    expect(await preparedNames(pool)).toEqual([]);
    await store.close();
  });

  it('rejects a non-boolean preparedStatements', () => {
    let error: unknown;
    try {
      new PgStore({ pool: a.pool, schema: a.schema, preparedStatements: 'yes' as never });
    } catch (err) {
      error = err;
    }
    expect(isWarrenError(error, 'ERR_INVALID_OPTION')).toBe(true);
    expect((error as Error).message).toContain('preparedStatements');
  });
});

describe('PgStore preparedStatements after a migration', () => {
  it('a column added under prepared statements: the store falls back to plain text and keeps working', async () => {
    const db = await createTestDatabase('pg_prep_alter');
    try {
      await migrate(db.pool, { schema: db.schema });
      const pool = db.newPool(1);
      const store = new PgStore({ pool, schema: db.schema });
      const scope = uniqueToken('prep_alter');
      await cycle(store, scope, 'job', 0, 'we');
      // What a later migration may do while this process runs: `RETURNING *` now has another column.
      await pool.query(`ALTER TABLE "${db.schema}".runs ADD COLUMN extra integer`);
      await pool.query(`ALTER TABLE "${db.schema}".jobs ADD COLUMN extra integer`);
      await cycle(store, scope, 'job', 1, 'we');
      await cycle(store, scope, 'job', 2, 'we');
      await store.close();
    } finally {
      await db.drop();
    }
  });
});
