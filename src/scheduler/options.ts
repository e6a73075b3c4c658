import { hostname } from 'node:os';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import { WarrenError, describeValue } from '../errors.js';
import { DEFAULT_SCHEMA, assertScope } from '../names.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { timeZoneOption } from '../define/time-zone.js';
import type { JobDefinition } from '../define/types.js';
import { LOGGER_STYLES, type HostLogger, type LoggerStyle } from '../util/logger.js';
import type { LivenessClient, Store } from '../store/port.js';
import type { Transport } from '../broker/transport.js';
import type { Queryable } from '../store/pg/db.js';

export type SchedulerRole = 'auto' | 'scheduler-only' | 'control-only';

/** Thrown by zod refinements so the message can carry the rule; caught in {@link parseSchedulerOptions}. */
const durationAtLeast = (minMs: number, rule: string) =>
  z.custom<Duration>((value) => {
    try {
      return parseDuration(value, 'x', 'ERR_INVALID_OPTION') >= minMs;
    } catch {
      return false;
    }
  }, rule);

const hasFunctions =
  (...names: string[]) =>
  (value: unknown) =>
    typeof value === 'object' && value !== null && names.every((n) => typeof (value as Record<string, unknown>)[n] === 'function');

const schedulerOptionsSchema = z
  .object({
    /** The host's `pg.Pool` (or a client). warren never creates a pool itself. Give this or `store`. */
    pool: z.custom<Queryable>(hasFunctions('query'), 'a pg.Pool (anything with query(text, values))').optional(),
    /** A ready store (PgStore, or MemoryStore from warren/testing). Give this or `pool`. */
    store: z.custom<Store>(hasFunctions('claimSlots', 'acquireLeadership'), 'a Store (PgStore or MemoryStore)').optional(),
    /**
     * Postgres schema of warren's tables (with `pool`).
     * @default 'scheduler'
     */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case Postgres identifier')
      .default(DEFAULT_SCHEMA),
    /**
     * The `pool` goes through PgBouncer in transaction mode: no named prepared statements,
     * no LISTEN (a notification would reach whichever client PgBouncer pairs next), so the
     * leader sees control changes at its next `safetyTick` instead of at once, and no
     * liveness lock unless `livenessClient` connects straight to PostgreSQL.
     * @default false
     */
    pgbouncer: z.boolean().default(false),
    /**
     * Run `migrate()` on start when given a `pool`.
     * @default true
     */
    migrate: z.boolean().default(true),
    /** AMQP URL; the scheduler then creates (and closes) its own transport. Give this or `transport`. */
    amqpUrl: z
      .string()
      .regex(/^amqps?:\/\//, 'an amqp:// or amqps:// URL')
      .optional(),
    /** A ready transport (AmqpTransport, or MemoryTransport from warren/testing). */
    transport: z.custom<Transport>(hasFunctions('publish', 'assertQueue'), 'a Transport (AmqpTransport or MemoryTransport)').optional(),
    /** The scope this instance schedules and steers (`mock`, `real`, …). */
    scope: z.custom<string>((v) => {
      try {
        assertScope(v);
        return true;
      } catch {
        return false;
      }
    }, '1-40 characters of a-z, 0-9, "_" or "-" starting with a letter or digit'),
    /**
     * Code definitions, synced into the store at start.
     * @default []
     */
    jobs: z.array(z.custom<JobDefinition<any>>(hasFunctions('parseParams'), 'a JobDefinition from defineJob()')).default([]),
    /**
     * The IANA time zone of every cron that names no `tz`: jobs created or changed through the
     * control API and code definitions this scheduler syncs. The resolved zone is stored on
     * the job. Give workers that sync definitions the same `timezone`.
     * @default 'UTC'
     */
    timezone: timeZoneOption,
    /**
     * Where all time comes from.
     * @default systemClock
     */
    clock: z.custom<Clock>(hasFunctions('now', 'setTimer', 'sleep'), 'a Clock').default(systemClock),
    /**
     * This instance's name in the lease row and the logs.
     * @default `${hostname}-${pid}-${random}`
     */
    instanceId: z.string().min(1, 'a non-empty string').max(200, 'at most 200 characters').optional(),
    /**
     * `auto`: leads when it can and serves the control API; `scheduler-only`: leads, control
     * methods throw; `control-only`: never leads.
     * @default 'auto'
     */
    role: z.enum(['auto', 'scheduler-only', 'control-only']).default('auto'),
    /**
     * How long a leader's lease lasts without renewal: the failover time after a crash.
     * @default '15s'
     */
    leaseTtl: durationAtLeast(1000, 'a duration >= 1s').default('15s'),
    /**
     * How often the leader renews (and a follower retries).
     * @default leaseTtl / 3
     */
    renewInterval: durationAtLeast(100, 'a duration >= 100ms').optional(),
    /**
     * The longest the leader sleeps between ticks (outbox, reaper, broken chains).
     * @default '10s'
     */
    safetyTick: durationAtLeast(100, 'a duration >= 100ms').default('10s'),
    /**
     * How far ahead the leader claims slots: a slot due within this horizon gets its run row
     * (under the fence) before its instant, so at the instant only the publish remains.
     * A pause or schedule change before the slot records the claimed run `cancelled`; a
     * leader that dies meanwhile leaves it to the next leader's outbox. `0` claims each slot
     * when it is due. The leader widens it to twice the cost of its last claiming pass when
     * that is longer (at most 4×). Keep it well under the shortest period (a pause then rarely
     * meets a claimed slot). `'250ms'` suits most hosts; off by default until the tests that
     * assert a claim at the slot instant (test/scheduler/downtime.test.ts) are revised.
     * @default '0s'
     */
    lookAhead: durationAtLeast(0, 'a duration >= 0').default('0s'),
    /**
     * An unpublished run younger than this is left to the instance that created it.
     * @default '5s'
     */
    outboxGrace: durationAtLeast(0, 'a duration >= 0').default('5s'),
    /**
     * The outbox backstop: a pending run published this long ago and due this long ago that no
     * worker has claimed (its trigger was lost) is published again, at most once per interval.
     * Keep it above the longest a due run may legitimately wait in its queue (a worker backlog,
     * a bufferAll job at maxParallel): each republish adds a harmless duplicate trigger.
     * @default '10m'
     */
    republishAfter: durationAtLeast(1000, 'a duration >= 1s').default('10m'),
    /**
     * Bound on due jobs (and run rows per claim) handled in one tick.
     * @default 500
     */
    maxSlotsPerTick: z.number().int('an integer').min(1, 'an integer >= 1').max(100_000, 'an integer <= 100000').default(500),
    /**
     * Notice dead processes through PostgreSQL (docs/reliability.md): the instance holds a
     * session-level advisory lock on one dedicated connection (outside the pool) that the
     * server releases the moment the process dies; a follower waiting on the leader's lock
     * leads at once, and the leader retries the runs of a worker whose lock is gone within
     * about `livenessCheckInterval + livenessGrace`. `false` (PgBouncer in transaction mode,
     * where a session lock cannot be held): the leases alone, as before.
     * @default true; with `pgbouncer`, only when a `livenessClient` connects around PgBouncer
     */
    liveness: z.boolean().optional(),
    /**
     * Opens the liveness connection: a function returning a new, unconnected `pg.Client`
     * (e.g. straight to PostgreSQL when `pool` goes through PgBouncer).
     * @default `new pool.Client(pool.options)` (the pool's own settings, outside the pool)
     */
    livenessClient: z.custom<() => LivenessClient>((v) => typeof v === 'function', 'a function returning a new pg.Client').optional(),
    /**
     * How often the leader looks for workers whose liveness lock is gone.
     * @default '500ms'
     */
    livenessCheckInterval: durationAtLeast(50, 'a duration >= 50ms').default('500ms'),
    /**
     * How long a worker's lock must stay absent (its row saying it took it) before its runs
     * are retried: covers the instant between a live worker's connection dropping and the
     * worker saying so.
     * @default '1s'
     */
    livenessGrace: durationAtLeast(0, 'a duration >= 0').default('1s'),
    /** Receives the scheduler's log lines besides `debug('warren:scheduler')`: pino, winston, bunyan, console, ... */
    logger: z.custom<HostLogger>(hasFunctions('debug', 'info', 'warn', 'error'), 'a logger with debug/info/warn/error').optional(),
    /**
     * How `logger` is called: `'pino'` → `logger.info(fields, message)` (pino, bunyan);
     * `'winston'` → `logger.info(message, fields)`; `'auto'` recognises pino and bunyan
     * instances and uses `'winston'` for anything else.
     * @default 'auto'
     */
    loggerStyle: z.enum(LOGGER_STYLES).default('auto'),
  })
  .strict();

/** What `createScheduler` accepts. */
export type SchedulerOptions = z.input<typeof schedulerOptionsSchema>;

/** Options after validation, durations in ms. */
export interface ResolvedSchedulerOptions {
  pool: Queryable | undefined;
  store: Store | undefined;
  schema: string;
  migrate: boolean;
  pgbouncer: boolean;
  amqpUrl: string | undefined;
  transport: Transport | undefined;
  scope: string;
  jobs: JobDefinition<any>[];
  timezone: string;
  clock: Clock;
  instanceId: string;
  role: SchedulerRole;
  leaseTtlMs: number;
  renewIntervalMs: number;
  safetyTickMs: number;
  outboxGraceMs: number;
  lookAheadMs: number;
  republishAfterMs: number;
  maxSlotsPerTick: number;
  liveness: boolean;
  livenessClient: (() => LivenessClient) | undefined;
  livenessCheckIntervalMs: number;
  livenessGraceMs: number;
  logger: HostLogger | undefined;
  loggerStyle: LoggerStyle;
}

function invalid(field: string, rule: string, value: unknown): never {
  throw new WarrenError('ERR_INVALID_OPTION', `Invalid scheduler option \`${field}\`: expected ${rule}, got ${describeValue(value)}`, {
    field,
  });
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/** Validates and normalises; throws ERR_INVALID_OPTION naming the option, the rule and the value. */
export function parseSchedulerOptions(input: unknown): ResolvedSchedulerOptions {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) invalid('(options)', 'an options object', input);
  const parsed = schedulerOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(options)';
    let rule = issue.message;
    if (issue.code === 'unrecognized_keys') return invalid(issue.keys[0] ?? path, 'no such option', valueAt(input, [issue.keys[0] ?? '']));
    if (issue.code === 'invalid_value' && 'values' in issue) rule = `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    else if (issue.code === 'invalid_type')
      rule = issue.expected === 'string' && path === 'amqpUrl' ? 'an amqp:// URL' : `a ${issue.expected}`;
    return invalid(path, rule, valueAt(input, issue.path));
  }
  const o = parsed.data;
  if (o.pool && o.store) invalid('store', 'either `pool` or `store`, not both', '(both given)');
  if (!o.pool && !o.store) invalid('pool', 'a pg.Pool (or give `store`)', undefined);
  if (o.amqpUrl && o.transport) invalid('transport', 'either `amqpUrl` or `transport`, not both', '(both given)');
  if (!o.amqpUrl && !o.transport && o.role !== 'control-only') {
    invalid('amqpUrl', 'an AMQP URL or a `transport` (only a `control-only` scheduler may go without one)', undefined);
  }
  const leaseTtlMs = parseDuration(o.leaseTtl, 'leaseTtl', 'ERR_INVALID_OPTION');
  const renewIntervalMs =
    o.renewInterval === undefined ? Math.floor(leaseTtlMs / 3) : parseDuration(o.renewInterval, 'renewInterval', 'ERR_INVALID_OPTION');
  if (renewIntervalMs >= leaseTtlMs) invalid('renewInterval', `a duration shorter than leaseTtl (${leaseTtlMs} ms)`, o.renewInterval);
  return {
    pool: o.pool,
    store: o.store,
    schema: o.schema,
    migrate: o.migrate,
    pgbouncer: o.pgbouncer,
    amqpUrl: o.amqpUrl,
    transport: o.transport,
    scope: o.scope,
    jobs: o.jobs,
    timezone: o.timezone,
    clock: o.clock,
    instanceId: o.instanceId ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    role: o.role,
    leaseTtlMs,
    renewIntervalMs,
    safetyTickMs: parseDuration(o.safetyTick, 'safetyTick', 'ERR_INVALID_OPTION'),
    outboxGraceMs: parseDuration(o.outboxGrace, 'outboxGrace', 'ERR_INVALID_OPTION'),
    lookAheadMs: parseDuration(o.lookAhead, 'lookAhead', 'ERR_INVALID_OPTION'),
    republishAfterMs: parseDuration(o.republishAfter, 'republishAfter', 'ERR_INVALID_OPTION'),
    maxSlotsPerTick: o.maxSlotsPerTick,
    // A session lock cannot be held through PgBouncer (transaction mode); a direct client can.
    liveness: o.liveness ?? (!o.pgbouncer || o.livenessClient !== undefined),
    livenessClient: o.livenessClient,
    livenessCheckIntervalMs: parseDuration(o.livenessCheckInterval, 'livenessCheckInterval', 'ERR_INVALID_OPTION'),
    livenessGraceMs: parseDuration(o.livenessGrace, 'livenessGrace', 'ERR_INVALID_OPTION'),
    logger: o.logger,
    loggerStyle: o.loggerStyle,
  };
}
