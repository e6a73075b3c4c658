import { hostname } from 'node:os';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import { duration, hasFunctions, integer, parseOptions, schemaOption, scopeOption, shorterThanRule } from '../util/options.js';
import { timeZoneOption } from '../define/time-zone.js';
import type { JobDefinition } from '../define/types.js';
import { LOGGER_STYLES, type HostLogger } from '../util/logger.js';
import type { LivenessClient, Store } from '../store/port.js';
import type { Transport } from '../broker/transport.js';
import { amqpUrlsSchema, redactUrlField } from '../broker/amqp/options.js';
import type { Queryable } from '../store/pg/db.js';

/** The defaults of the `retention` option (docs/retention.md says why): 30 days, 10,000 runs, a pass a minute, 500 rows a statement. */
export const RETENTION_DEFAULTS = { maxAgeMs: 30 * 86_400_000, keepLast: 10_000, intervalMs: 60_000, batchSize: 500 } as const;

export interface ResolvedRetention {
  maxAgeMs: number | null;
  keepLast: number | null;
  intervalMs: number;
  batchSize: number;
}

export type SchedulerRole = 'auto' | 'scheduler-only' | 'control-only';

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
    schema: schemaOption,
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
    /**
     * AMQP URL, or the URLs of a cluster's nodes (it fails over between them); the scheduler
     * then creates (and closes) its own transport. Give this or `transport`.
     */
    amqpUrl: amqpUrlsSchema.optional(),
    /** A ready transport (AmqpTransport, or MemoryTransport from warren/testing). */
    transport: z.custom<Transport>(hasFunctions('publish', 'assertQueue'), 'a Transport (AmqpTransport or MemoryTransport)').optional(),
    /** The scope this instance schedules and steers (`mock`, `real`, …). */
    scope: scopeOption,
    /**
     * Code definitions, synced into the store at start.
     * @default []
     */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- definitions of any params type
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
    leaseTtl: duration(1000).default(15_000),
    /**
     * How often the leader renews (and a follower retries).
     * @default leaseTtl / 3
     */
    renewInterval: duration(100).optional(),
    /**
     * The longest the leader sleeps between ticks (outbox, reaper, broken chains).
     * @default '10s'
     */
    safetyTick: duration(100).default(10_000),
    /**
     * An unpublished run younger than this is left to the instance that created it.
     * @default '5s'
     */
    outboxGrace: duration(0).default(5_000),
    /**
     * How far ahead the leader claims slots: a slot due within this horizon gets its run row
     * (under the fence) before its instant and its trigger is published at once, carrying the
     * instant; the worker holds it, claims it just ahead and starts it on the instant. A pause
     * or schedule change before the slot records the claimed run `cancelled` (the held trigger
     * is then dropped); a leader that dies between claim and publish leaves it to the next
     * leader's outbox. `0` claims and publishes each slot when it is due. The leader widens it
     * to twice the cost of its last claiming pass when that is longer (at most 4×). At most 15 s.
     * Keep it well under the shortest period (a pause then rarely meets a claimed slot).
     * @default '250ms'
     */
    lookAhead: duration(0, { maxMs: 15_000 }).default(250),
    /**
     * The outbox backstop: a pending run published this long ago and due this long ago that no
     * worker has claimed (its trigger was lost) is published again, at most once per interval.
     * Keep it above the longest a due run may legitimately wait in its queue (a worker backlog,
     * a bufferAll job at maxParallel): each republish adds a harmless duplicate trigger.
     * @default '10m'
     */
    republishAfter: duration(1000).default(600_000),
    /**
     * Bound on due jobs (and run rows per claim) handled in one tick.
     * @default 500
     */
    maxSlotsPerTick: integer(1, 100_000).default(500),
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
    livenessCheckInterval: duration(50).default(500),
    /**
     * How long a worker's lock must stay absent (its row saying it took it) before its runs
     * are retried: covers the instant between a live worker's connection dropping and the
     * worker saying so.
     * @default '1s'
     */
    livenessGrace: duration(0).default(1_000),
    /**
     * Run-history retention (docs/retention.md): the scope's default limits, for every job
     * whose own `retention` leaves them out, and how the leader applies them. A run is pruned
     * once it is past either limit; pending and running runs, the newest run of each job and
     * the run a queue-mode chain points at always stay. `null` lifts a limit.
     * @default { maxAge: '30d', keepLast: 10000, interval: '1m', batchSize: 500 }
     */
    retention: z
      .object(
        {
          /** @default '30d' */
          maxAge: duration(1000).nullable().default(RETENTION_DEFAULTS.maxAgeMs),
          /** @default 10000 */
          keepLast: integer(1, Number.MAX_SAFE_INTEGER).nullable().default(RETENTION_DEFAULTS.keepLast),
          /** How often the leader runs a retention pass. @default '1m' */
          interval: duration(1000).default(RETENTION_DEFAULTS.intervalMs),
          /** Runs deleted per statement. @default 500 */
          batchSize: integer(1, 10_000).default(RETENTION_DEFAULTS.batchSize),
        },
        { error: 'an object { maxAge, keepLast, interval, batchSize }' },
      )
      .strict()
      .default({
        maxAge: RETENTION_DEFAULTS.maxAgeMs,
        keepLast: RETENTION_DEFAULTS.keepLast,
        interval: RETENTION_DEFAULTS.intervalMs,
        batchSize: RETENTION_DEFAULTS.batchSize,
      }),
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
  .strict()
  .superRefine((o, ctx) => {
    const issue = (field: string, message: string, got?: string) =>
      ctx.addIssue({ code: 'custom', path: [field], message, ...(got === undefined ? {} : { params: { got } }) });
    if (o.pool && o.store) issue('store', 'either `pool` or `store`, not both', '(both given)');
    if (!o.pool && !o.store) issue('pool', 'a pg.Pool (or give `store`)');
    if (o.amqpUrl && o.transport) issue('transport', 'either `amqpUrl` or `transport`, not both', '(both given)');
    if (!o.amqpUrl && !o.transport && o.role !== 'control-only') {
      issue('amqpUrl', 'an AMQP URL or a `transport` (only a `control-only` scheduler may go without one)');
    }
    if (o.renewInterval !== undefined && o.renewInterval >= o.leaseTtl) {
      issue('renewInterval', shorterThanRule('leaseTtl', o.leaseTtl));
    }
  })
  .transform(
    ({
      leaseTtl,
      renewInterval,
      safetyTick,
      outboxGrace,
      lookAhead,
      republishAfter,
      livenessCheckInterval,
      livenessGrace,
      instanceId,
      liveness,
      retention,
      ...o
    }) => ({
      ...o,
      instanceId: instanceId ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      leaseTtlMs: leaseTtl,
      renewIntervalMs: renewInterval ?? Math.floor(leaseTtl / 3),
      safetyTickMs: safetyTick,
      outboxGraceMs: outboxGrace,
      lookAheadMs: lookAhead,
      republishAfterMs: republishAfter,
      // A session lock cannot be held through PgBouncer (transaction mode); a direct client can.
      liveness: liveness ?? (!o.pgbouncer || o.livenessClient !== undefined),
      livenessCheckIntervalMs: livenessCheckInterval,
      livenessGraceMs: livenessGrace,
      retention: {
        maxAgeMs: retention.maxAge,
        keepLast: retention.keepLast,
        intervalMs: retention.interval,
        batchSize: retention.batchSize,
      } satisfies ResolvedRetention,
    }),
  );

/** What `createScheduler` accepts. */
export type SchedulerOptions = z.input<typeof schedulerOptionsSchema>;

/** Options after validation: every default applied, durations in ms (`leaseTtlMs`, …). */
export type ResolvedSchedulerOptions = z.output<typeof schedulerOptionsSchema>;

/** Validates and normalises; throws ERR_INVALID_OPTION naming the option, the rule and the value. */
export function parseSchedulerOptions(input: unknown): ResolvedSchedulerOptions {
  return parseOptions(schedulerOptionsSchema, input, {
    label: 'scheduler option',
    redact: redactUrlField('amqpUrl'),
  });
}
