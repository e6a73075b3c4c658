/**
 * Versioned migrations, graphile-worker style: numbered, immutable SQL files embedded at
 * build time (`npm run embed-sql`), each applied in its own transaction that holds
 * `pg_advisory_xact_lock(key(schema))` and inserts its `migrations` row before the DDL, so
 * services starting at once serialise instead of racing (and a migrator that somehow
 * slips past the lock clashes on the primary key and retries). Transaction-scoped locks
 * only: a session lock would leak on a host's pooled connection (and behind PgBouncer).
 */
import createDebug from 'debug';
import { z } from 'zod';
import { WarrenError, describeValue } from '../errors.js';
import { SCHEMA_RULE } from '../names.js';
import { parseOptions, schemaOption } from '../util/options.js';
import { SqlRunner, advisoryKey, quoteIdent, sqlState, type Queryable } from './pg/db.js';
import { migrations as embedded, type EmbeddedMigration } from './pg/migrations.generated.js';

const debug = createDebug('warren:store');

const migrateOptionsSchema = z.object({
  /**
   * The Postgres schema holding warren's tables.
   * @default 'scheduler'
   */
  schema: schemaOption,
});

export type MigrateOptions = z.input<typeof migrateOptionsSchema>;

export interface MigrateResult {
  /** Versions applied by this call, in order (empty when the database was up to date). */
  applied: number[];
  /** The schema version after the call. */
  current: number;
}

/** Validates the schema option (shared with PgStore). */
export function parseSchemaName(value: unknown, what = 'option'): string {
  const parsed = schemaOption.safeParse(value);
  if (!parsed.success) {
    throw new WarrenError('ERR_INVALID_OPTION', `Invalid ${what} \`schema\`: expected ${SCHEMA_RULE}, got ${describeValue(value)}`, {
      field: 'schema',
    });
  }
  return parsed.data;
}

/**
 * Brings `schema` up to the latest migration this code knows. Accepts a `pg.Pool` (one
 * client is checked out per migration and released) or a connected `pg.Client`.
 * Throws ERR_SCHEMA_TOO_NEW when the database was migrated by a newer warren.
 */
export async function migrate(db: Queryable, options: MigrateOptions = {}): Promise<MigrateResult> {
  if (typeof db?.query !== 'function') {
    throw new WarrenError(
      'ERR_INVALID_ARGUMENT',
      `Invalid \`db\`: expected a pg.Pool or pg.Client (anything with query(text, values)), got ${describeValue(db)}`,
      { field: 'db' },
    );
  }
  if (options === null || typeof options !== 'object') {
    throw new WarrenError('ERR_INVALID_OPTION', `Invalid migrate options: expected an object, got ${describeValue(options)}`, {
      field: 'options',
    });
  }
  const { schema } = parseOptions(migrateOptionsSchema, options, { label: 'migrate option' });
  return runMigrations(new SqlRunner(db), schema, embedded);
}

/** @internal exported for tests that pretend the code knows fewer migrations. */
export async function runMigrations(runner: SqlRunner, schema: string, known: readonly EmbeddedMigration[]): Promise<MigrateResult> {
  const ident = quoteIdent(schema);
  const key = advisoryKey(`warren:migrate:${schema}`);
  const latest = known.length === 0 ? 0 : known[known.length - 1]!.version;
  const applied: number[] = [];
  let clashes = 0;

  for (;;) {
    let outcome: { done: true; current: number } | { done: false; version: number };
    try {
      outcome = await runner.transaction(async (q) => {
        await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [key]);
        const current = await currentVersion(q, ident);
        if (current > latest) {
          throw new WarrenError(
            'ERR_SCHEMA_TOO_NEW',
            `Schema "${schema}" is at migration ${current}, but this version of warren only knows migrations up to ${latest}: upgrade warren (or point it at another schema)`,
            { field: 'schema', details: { schema, databaseVersion: current, codeVersion: latest } },
          );
        }
        const next = known.find((m) => m.version === current + 1);
        if (!next) return { done: true as const, current };
        // The row first: a concurrent migrator that got past the lock clashes here, not mid-DDL.
        await q.query(`INSERT INTO ${ident}.migrations (version, name, applied_at) VALUES ($1, $2, now())`, [next.version, next.name]);
        await q.query(next.sql.replace(/:SCHEMA:/g, ident));
        return { done: false as const, version: next.version };
      });
    } catch (err) {
      // Another process applied it first (past the lock, e.g. a different key derivation): look again.
      if (sqlState(err) === '23505' && ++clashes < 10) continue;
      if (err instanceof WarrenError) throw err;
      throw new WarrenError('ERR_MIGRATION_FAILED', `Migrating schema "${schema}" failed: ${(err as Error)?.message ?? String(err)}`, {
        cause: err,
        field: 'schema',
      });
    }
    if (outcome.done) return { applied, current: outcome.current };
    debug('applied migration %d to schema %s', outcome.version, schema);
    applied.push(outcome.version);
  }
}

async function currentVersion(q: Queryable, ident: string): Promise<number> {
  const { rows } = await q.query('SELECT to_regclass($1) IS NOT NULL AS present', [`${ident}.migrations`]);
  if (!rows[0]?.present) {
    await q.query(`CREATE SCHEMA IF NOT EXISTS ${ident}`);
    await q.query(
      `CREATE TABLE IF NOT EXISTS ${ident}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    return 0;
  }
  const result = await q.query(`SELECT coalesce(max(version), 0)::int AS version FROM ${ident}.migrations`);
  return Number(result.rows[0]?.version ?? 0);
}
