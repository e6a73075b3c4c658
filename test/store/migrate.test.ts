import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWarrenError } from '../../src/errors.js';
import { migrate, runMigrations } from '../../src/store/migrate.js';
import { SqlRunner } from '../../src/store/pg/db.js';
import { migrations } from '../../src/store/pg/migrations.generated.js';
import { RUN_INSTANTS, RUN_OTHERS } from '../../src/store/pg/queries.js';
import { DATABASE_URL, uniqueToken } from '../helpers/env.js';
import { type TestDatabase, createTestDatabase } from '../helpers/pg.js';

const LATEST = migrations[migrations.length - 1]!.version;
const CHILD = fileURLToPath(new URL('../helpers/pg-fixtures-migrate-child.ts', import.meta.url));

let db: TestDatabase;
const extraSchemas: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('migrate');
});

afterAll(async () => {
  for (const schema of extraSchemas) await db.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db.drop();
});

function freshSchema(label: string): string {
  const schema = `t_${uniqueToken(label)}`;
  extraSchemas.push(schema);
  return schema;
}

async function expectError(promise: Promise<unknown>, code: string, field?: string): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isWarrenError(error, code as never), `expected ${code}, got ${String(error)}`).toBe(true);
  if (field) {
    expect((error as { field?: string }).field).toBe(field);
    expect((error as Error).message).toContain(field);
  }
  return error as Error;
}

interface ChildResult {
  ok: boolean;
  applied?: number[];
  current?: number;
  code?: string;
  message?: string;
}

/** Starts a child that migrates when told to; resolves `ready` once it is connected. */
function startChild(schema: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, DATABASE_URL, schema], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before ready: ${err}`)));
  });
  const done = new Promise<ChildResult>((resolve, reject) => {
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return reject(new Error(`child exited (${code}) without a result: ${err}`));
      resolve(JSON.parse(line) as ChildResult);
    });
  });
  return { ready, done, go: () => child.stdin.write('go\n'), kill: () => child.kill() };
}

describe('migrate', () => {
  it('4 processes migrating one empty schema at the same moment all succeed and apply each migration once', async () => {
    const schema = freshSchema('race');
    const children = Array.from({ length: 4 }, () => startChild(schema));
    try {
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.go();
      const results = await Promise.all(children.map((c) => c.done));
      expect(
        results.map((r) => r.ok),
        JSON.stringify(results),
      ).toEqual([true, true, true, true]);
      expect(results.every((r) => r.current === LATEST)).toBe(true);
      // Between them they applied every migration exactly once.
      expect(results.flatMap((r) => r.applied ?? []).sort((a, b) => a - b)).toEqual(migrations.map((m) => m.version));
      const { rows } = await db.pool.query(`SELECT version FROM "${schema}".migrations ORDER BY version`);
      expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    } finally {
      for (const c of children) c.kill();
    }
  });

  it('creates the tables, and running it again is a no-op', async () => {
    const first = await migrate(db.pool, { schema: db.schema });
    expect(first).toEqual({ applied: migrations.map((m) => m.version), current: LATEST });
    const { rows } = await db.pool.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [
      db.schema,
    ]);
    expect(rows.map((r) => r.table_name)).toEqual(['audit', 'jobs', 'leases', 'liveness', 'migrations', 'retention_marks', 'runs']);
    expect(await migrate(db.pool, { schema: db.schema })).toEqual({ applied: [], current: LATEST });
  });

  it("the hot paths' run projection (queries.ts runColumnsMs) names every column of runs, the instants as instants", async () => {
    await migrate(db.pool, { schema: db.schema });
    const { rows } = await db.pool.query(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'runs'`,
      [db.schema],
    );
    const instants = rows.filter((r) => r.data_type === 'timestamp with time zone').map((r) => r.column_name as string);
    const others = rows.filter((r) => r.data_type !== 'timestamp with time zone').map((r) => r.column_name as string);
    expect([...RUN_INSTANTS].sort()).toEqual(instants.sort());
    expect([...RUN_OTHERS].sort()).toEqual(others.sort());
  });

  it('works on a bare pg.Client', async () => {
    const schema = freshSchema('client');
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      expect(await migrate(client, { schema })).toEqual({ applied: migrations.map((m) => m.version), current: LATEST });
      expect(await migrate(client, { schema })).toEqual({ applied: [], current: LATEST });
    } finally {
      await client.end();
    }
  });

  it('applies only what is missing when the code knows more than the database', async () => {
    const schema = freshSchema('upgrade');
    const runner = new SqlRunner(db.pool);
    const extra = { version: LATEST + 1, name: `${String(LATEST + 1).padStart(6, '0')}.sql`, sql: 'CREATE TABLE :SCHEMA:.extra (id int)' };
    expect(await runMigrations(runner, schema, migrations)).toEqual({ applied: migrations.map((m) => m.version), current: LATEST });
    expect(await runMigrations(runner, schema, [...migrations, extra])).toEqual({ applied: [LATEST + 1], current: LATEST + 1 });
    expect((await db.pool.query(`SELECT to_regclass($1) AS t`, [`"${schema}".extra`])).rows[0].t).not.toBeNull();
  });

  it('refuses a database recorded at a newer version (ERR_SCHEMA_TOO_NEW) and changes nothing', async () => {
    const schema = freshSchema('newer');
    await migrate(db.pool, { schema });
    await db.pool.query(`INSERT INTO "${schema}".migrations (version, name) VALUES ($1, 'from-the-future.sql')`, [LATEST + 1]);
    const error = await expectError(migrate(db.pool, { schema }), 'ERR_SCHEMA_TOO_NEW');
    expect(error.message).toContain(String(LATEST + 1));
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM "${schema}".migrations`)).rows[0].n).toBe(LATEST + 1);
  });

  it('a failing migration rolls back entirely (ERR_MIGRATION_FAILED) and leaves the version where it was', async () => {
    const schema = freshSchema('broken');
    const runner = new SqlRunner(db.pool);
    await runMigrations(runner, schema, migrations);
    const broken = { version: LATEST + 1, name: 'broken.sql', sql: 'CREATE TABLE :SCHEMA:.half (id int); SELECT * FROM no_such_table' };
    await expectError(runMigrations(runner, schema, [...migrations, broken]), 'ERR_MIGRATION_FAILED');
    expect((await db.pool.query(`SELECT max(version)::int AS v FROM "${schema}".migrations`)).rows[0].v).toBe(LATEST);
    expect((await db.pool.query(`SELECT to_regclass($1) AS t`, [`"${schema}".half`])).rows[0].t).toBeNull();
  });

  it('rejects an invalid schema name with ERR_INVALID_OPTION naming `schema`', async () => {
    for (const schema of ['Scheduler', 'my-schema', '1abc', '', 'a"b', 'x'.repeat(64), 42]) {
      await expectError(migrate(db.pool, { schema: schema as string }), 'ERR_INVALID_OPTION', 'schema');
    }
    await expectError(migrate(db.pool, null as never), 'ERR_INVALID_OPTION');
    await expectError(migrate({} as never), 'ERR_INVALID_ARGUMENT', 'db');
  });

  it('defaults to the `scheduler` schema', async () => {
    // Never touch the real default schema: record the statements a default call would run.
    const statements: string[] = [];
    const recorder = {
      // Queryable also takes node-postgres's config form; migrate sends text only.
      query: async (statement: string | { text: string }) => {
        const text = typeof statement === 'string' ? statement : statement.text;
        statements.push(text);
        if (text.startsWith('SELECT to_regclass')) return { rows: [{ present: true }] };
        if (text.includes('max(version)')) return { rows: [{ version: LATEST }] };
        return { rows: [] };
      },
    };
    expect(await migrate(recorder)).toEqual({ applied: [], current: LATEST });
    expect(statements.some((s) => s.includes('"scheduler".migrations'))).toBe(true);
  });
});
