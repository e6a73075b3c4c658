/**
 * What every fleet service reads from its command line and environment, in one place, so
 * a missing setting is reported the same way everywhere: a clear message and exit code 2.
 */
import { parseArgs } from 'node:util';

export const PROFILES = ['real', 'mock'] as const;
export type Profile = (typeof PROFILES)[number];

/** The seed's ports: the real scheduler API on 8095, the mock one on 9095. */
export const DEFAULT_PORTS: Record<Profile, number> = { real: 8095, mock: 9095 };

/** A setting the operator must fix: printed without a stack, exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ServiceConfig {
  /** `real` or `mock`: picks the ports and the job file. */
  profile: Profile;
  /** The warren scope: the profile, after `FLEET_SCOPE_PREFIX` (several fleets on one broker). */
  scope: string;
  /** The port this service listens on (the scheduler's API, or a worker's /metrics). */
  port: number;
}

/** `--scope real|mock` (or `FLEET_SCOPE`), the scope prefix and the service's port. */
export function serviceConfig(argv: string[], env: NodeJS.ProcessEnv, portOffset: number): ServiceConfig {
  const { values } = parseArgs({ args: argv, options: { scope: { type: 'string' }, port: { type: 'string' } }, strict: true });
  const profile = parseProfile(values.scope ?? env.FLEET_SCOPE);
  const portText = values.port ?? env.FLEET_PORT;
  const port =
    portText === undefined ? basePort(profile, env) + portOffset : parsePort(portText, values.port !== undefined ? '--port' : 'FLEET_PORT');
  return { profile, scope: scopeName(profile, env), port };
}

export function parseProfile(value: string | undefined): Profile {
  if (value === undefined) throw new ConfigError('Say which scope to run: --scope real or --scope mock (or FLEET_SCOPE=real|mock).');
  if (!(PROFILES as readonly string[]).includes(value))
    throw new ConfigError(`--scope: expected real or mock, got ${JSON.stringify(value)}.`);
  return value as Profile;
}

/** `FLEET_SCOPE_PREFIX=t1_` runs the mock profile in scope `t1_mock`: its own jobs, queues and leader. */
export function scopeName(profile: Profile, env: NodeJS.ProcessEnv): string {
  const prefix = env.FLEET_SCOPE_PREFIX ?? '';
  if (!/^([a-z0-9][a-z0-9_-]{0,29})?$/.test(prefix))
    throw new ConfigError(`FLEET_SCOPE_PREFIX: expected up to 30 characters of a-z, 0-9, "_" or "-", got ${JSON.stringify(prefix)}.`);
  return `${prefix}${profile}`;
}

/** The scheduler's port of a profile (`FLEET_REAL_PORT`, `FLEET_MOCK_PORT`); the workers' /metrics ports follow it. */
export function basePort(profile: Profile, env: NodeJS.ProcessEnv): number {
  const name = `FLEET_${profile.toUpperCase()}_PORT`;
  const value = env[name];
  return value === undefined ? DEFAULT_PORTS[profile] : parsePort(value, name);
}

function parsePort(value: string, name: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigError(`${name}: expected a port number (0-65535), got ${JSON.stringify(value)}.`);
  return port;
}

/** A required environment variable, or a ConfigError saying what to set. */
export function required(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(`Set ${name}: ${what}.`);
  return value;
}

/** The settings every service that touches the database and the broker needs. */
export interface Backends {
  databaseUrl: string;
  amqpUrl: string;
  /** Postgres schema of warren's tables. @default 'scheduler' */
  schema: string;
}

export const BACKEND_HELP = {
  DATABASE_URL: 'the PostgreSQL the fleet keeps its jobs and runs in, e.g. postgres://postgres@127.0.0.1:5432/postgres',
  AMQP_URL: 'the RabbitMQ that carries the triggers, e.g. amqp://guest:guest@127.0.0.1:5672',
} as const;

export function backends(env: NodeJS.ProcessEnv): Backends {
  const missing = (['DATABASE_URL', 'AMQP_URL'] as const).filter((name) => !env[name]);
  if (missing.length > 0) throw new ConfigError(missing.map((name) => `Set ${name}: ${BACKEND_HELP[name]}.`).join('\n'));
  const schema = env.FLEET_SCHEMA ?? 'scheduler';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new ConfigError(`FLEET_SCHEMA: expected a lower-case Postgres identifier, got ${JSON.stringify(schema)}.`);
  return { databaseUrl: env.DATABASE_URL!, amqpUrl: env.AMQP_URL!, schema };
}

export const TOKEN_HELP =
  "the admin API's bearer token (16 characters or more), shared by the scheduler service, the bot and register-jobs";

export function adminToken(env: NodeJS.ProcessEnv): string {
  const token = required(env, 'WARREN_ADMIN_TOKEN', TOKEN_HELP);
  if (token.length < 16) throw new ConfigError(`WARREN_ADMIN_TOKEN: expected 16 characters or more, got ${token.length}.`);
  return token;
}
