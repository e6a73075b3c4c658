import pg from 'pg';
import { DATABASE_URL, uniqueToken } from './env.js';

export interface TestDatabase {
  pool: pg.Pool;
  /** This file's own schema: created empty, dropped by `drop()`. */
  schema: string;
  /** A fresh pool on the same database (for tests that need separate connections). */
  newPool(max?: number): pg.Pool;
  drop(): Promise<void>;
}

/**
 * Gives a test file its own schema so files run in parallel. The schema is not created
 * here: `migrate()` creates it, and tests of migrate need it absent.
 */
export async function createTestDatabase(label: string, max = 10): Promise<TestDatabase> {
  const schema = `t_${uniqueToken(label)}`;
  const pools: pg.Pool[] = [];
  const newPool = (size = max) => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: size });
    // A test that kills backends (pg_terminate_backend) must not crash the runner.
    pool.on('error', () => {});
    pools.push(pool);
    return pool;
  };
  const pool = newPool(max);
  return {
    pool,
    schema,
    newPool,
    async drop() {
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.end();
      }
      await Promise.all(pools.map((p) => p.end().catch(() => {})));
    },
  };
}
