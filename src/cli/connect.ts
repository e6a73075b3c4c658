/**
 * Where the CLI's `Control` comes from. Two doors, one interface, so every command is
 * written once:
 * - `DATABASE_URL` (or `WARREN_DATABASE_URL`): the CLI opens its own small `pg.Pool` and an
 *   in-process scheduler with role `control-only` (it never leads, never migrates, needs no
 *   broker: a run it creates is published by the scope's leader from the outbox);
 * - the admin URL (`--url` / `WARREN_ADMIN_URL`) with `WARREN_ADMIN_TOKEN`: the REST API of
 *   `warren/http`, so an operator's machine needs no database credentials.
 * Secrets come only from the environment (an argument shows up in `ps` and shell history).
 */
import { hostname, userInfo } from 'node:os';
import { WarrenError, isWarrenError } from '../errors.js';
import { DEFAULT_SCHEMA, assertScope } from '../names.js';
import { parseSchemaName } from '../store/migrate.js';
import type { Queryable } from '../store/pg/db.js';
import type { Control } from '../scheduler/control-types.js';
import { CliError, isUnmigrated, isUnreachable, usage } from './exit-codes.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The global flags, after commander merged in their environment variables. */
export interface GlobalFlags {
  scope?: string;
  schema?: string;
  url?: string;
  json?: boolean;
  tz?: string;
}

export interface Session {
  control: Control;
  /** The scope the commands steer: `--scope`; in remote mode optional (the service's own). */
  scope: string | undefined;
  /** Turns a failure into what the operator should read: where it could not connect, what to run. */
  explain(error: unknown): unknown;
  close(): Promise<void>;
}

export interface DatabaseSession {
  pool: Queryable;
  schema: string;
  explain(error: unknown): unknown;
  close(): Promise<void>;
}

export function databaseUrlOf(env: Env): string | undefined {
  return env.WARREN_DATABASE_URL || env.DATABASE_URL || undefined;
}

/** The values that must never be printed: the database password and the admin token. */
export function secretsOf(env: Env): string[] {
  const secrets: string[] = [];
  const url = databaseUrlOf(env);
  if (url !== undefined) {
    try {
      const password = new URL(url).password;
      if (password) secrets.push(password, decodeURIComponent(password));
    } catch {
      // Not a URL (a libpq key/value string): nothing to pick out, so hide the whole value.
      secrets.push(url);
    }
  }
  if (env.WARREN_ADMIN_TOKEN) secrets.push(env.WARREN_ADMIN_TOKEN);
  return secrets.filter((s) => s.length >= 3);
}

/** `postgres://user@host:5432/db`: where the CLI tried to connect, without the password. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(DATABASE_URL)';
  }
}

/** Who did it, for the audit trail: `cli:<login>@<host>`. */
export function cliActor(env: Env): string {
  let user = env.USER ?? env.LOGNAME ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment's name will do.
  }
  return `cli:${user}@${hostname()}`;
}

function schemaOf(flags: GlobalFlags): string {
  return parseSchemaName(flags.schema ?? DEFAULT_SCHEMA, 'flag');
}

/** Names the database (without its password) in a connection failure, and `migrate` for a missing table. */
function databaseExplainer(url: string, schema: string): (error: unknown) => unknown {
  return (error) => {
    if (error instanceof CliError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (isUnreachable(error))
      return new CliError('ERR_UNREACHABLE', `cannot connect to ${describeDatabase(url)}: ${message}`, { cause: error });
    if (isUnmigrated(error))
      return new CliError('ERR_UNEXPECTED', `${message}: is schema "${schema}" migrated? run \`warren migrate --schema ${schema}\``, {
        cause: error,
      });
    return error;
  };
}

/** pg is a peer dependency, imported only by the commands that reach the database. */
async function openPool(env: Env, command: string): Promise<{ pool: Queryable & { end(): Promise<void> }; url: string }> {
  const url = databaseUrlOf(env);
  if (url === undefined)
    throw usage(`\`warren ${command}\` needs DATABASE_URL (or WARREN_DATABASE_URL) in the environment`, 'DATABASE_URL');
  let Pool: typeof import('pg').Pool;
  try {
    ({ Pool } = (await import('pg')).default);
  } catch (error) {
    throw new CliError('ERR_UNEXPECTED', 'The database mode needs the `pg` package: npm install pg', { cause: error });
  }
  // Two connections are plenty for one command; a timeout so an unreachable host fails fast.
  const pool = new Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000, application_name: 'warren-cli' });
  pool.on('error', () => {});
  return { pool, url };
}

/** For `migrate`: the database itself, never the admin API (it has no such route). */
export async function openDatabase(flags: GlobalFlags, env: Env): Promise<DatabaseSession> {
  const schema = schemaOf(flags);
  const { pool, url } = await openPool(env, 'migrate');
  return { pool, schema, explain: databaseExplainer(url, schema), close: () => pool.end() };
}

export function requireScope(flags: GlobalFlags): string {
  if (flags.scope === undefined || flags.scope === '')
    throw usage('Missing `--scope` (or WARREN_SCOPE): the scope whose jobs to steer', 'scope');
  try {
    return assertScope(flags.scope);
  } catch {
    throw usage(
      `Invalid \`--scope\`: expected 1-40 characters of a-z, 0-9, "_" or "-" starting with a letter or digit, got ${JSON.stringify(flags.scope)}`,
      'scope',
    );
  }
}

/** The control API of the configured door: the admin URL when one is set, else the database. */
export async function openControl(flags: GlobalFlags, env: Env, command: string): Promise<Session> {
  if (flags.url !== undefined && flags.url !== '') return openRemote(flags.url, flags, env);
  const scope = requireScope(flags);
  const schema = schemaOf(flags);
  const { pool, url } = await openPool(env, command);
  const { createScheduler } = await import('../scheduler/scheduler.js');
  const scheduler = createScheduler({
    pool,
    schema,
    scope,
    role: 'control-only',
    migrate: false,
    instanceId: `cli-${hostname()}-${process.pid}`,
  });
  return {
    control: scheduler,
    scope,
    explain: databaseExplainer(url, schema),
    async close() {
      await scheduler.close();
      await pool.end();
    },
  };
}

/**
 * Remote mode: the admin API steers the scope of the service that mounts it, so `--scope`
 * is optional here (when given, `upsert` checks the file against it before writing).
 */
async function openRemote(url: string, flags: GlobalFlags, env: Env): Promise<Session> {
  const scope = flags.scope === undefined || flags.scope === '' ? undefined : requireScope(flags);
  const token = env.WARREN_ADMIN_TOKEN || undefined;
  const { createAdminClient } = await import('../http/client.js');
  let client: ReturnType<typeof createAdminClient>;
  try {
    client = createAdminClient({ url, ...(token !== undefined ? { token } : {}) });
  } catch (error) {
    // The client's message quotes what it got; for the token that would be the secret itself.
    const field = (error as { field?: unknown }).field;
    if (field === 'token')
      throw usage('Invalid WARREN_ADMIN_TOKEN: expected visible ASCII characters (no spaces or line breaks)', 'WARREN_ADMIN_TOKEN');
    const rule = (error as Error).message
      .replace(/^Invalid admin client option `url`: /, '')
      .replace('(pass the token as `token`)', '(the token goes in WARREN_ADMIN_TOKEN)');
    throw usage(`Invalid \`--url\` (or WARREN_ADMIN_URL): ${rule}`, 'url');
  }
  return {
    control: client,
    scope,
    explain: (error) => {
      if (isWarrenError(error, 'ERR_UNAUTHORIZED') && token === undefined) {
        return new WarrenError('ERR_UNAUTHORIZED', `${error.message} (WARREN_ADMIN_TOKEN is not set)`, { cause: error });
      }
      return error;
    },
    close: () => client.close(),
  };
}
