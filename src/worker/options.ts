import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import { duration, hasFunctions, integer, parseOptions, schemaOption, scopeOption, shorterThanRule } from '../util/options.js';
import { timeZoneOption } from '../define/time-zone.js';
import type { JobDefinition, JobHandler } from '../define/types.js';
import { LOGGER_STYLES, type HostLogger } from '../util/logger.js';
import type { Queryable } from '../store/pg/db.js';
import type { LivenessClient, Store } from '../store/port.js';
import type { Transport } from '../broker/transport.js';
import { amqpUrlsSchema, redactUrlField } from '../broker/amqp/options.js';
import type { WorkerQueue } from './handlers.js';

/** Where the worker's log lines go besides `debug('warren:worker')`: pino, winston, bunyan, console, ... (see `loggerStyle`). */
export type WorkerLogger = HostLogger;

/** One job this worker runs: its definition and the handler. */
export interface WorkerJob {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  definition: JobDefinition<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler: JobHandler<any>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const hasFns = (v: unknown, names: string[]): boolean => hasFunctions(...names)(v);
const int = integer;

/**
 * The worker's options: the one source of their types, defaults and validation.
 * Durations are strings like `'30s'` or numbers of seconds; the parsed form is in ms.
 */
export const workerOptionsSchema = z
  .object({
    /** The host's `pg.Pool` (or anything with `query(text, values)`); the worker builds a PgStore on it and never ends it. Exactly one of `pool` / `store`. */
    pool: z.custom<Queryable>((v) => hasFns(v, ['query']), { error: 'a pg.Pool (an object with query(text, values))' }).optional(),
    /** Postgres schema of warren's tables (with `pool`). @default 'scheduler' */
    schema: schemaOption,
    /**
     * The `pool` goes through PgBouncer in transaction mode: no named prepared statements, and
     * no liveness lock unless `livenessClient` connects straight to PostgreSQL. @default false
     */
    pgbouncer: z.boolean({ error: 'true or false' }).default(false),
    /** A ready Store (PgStore, MemoryStore). Not closed by the worker. */
    store: z
      .custom<Store>((v) => hasFns(v, ['claimRuns', 'completeRuns', 'heartbeat', 'insertRuns']), {
        error: 'a Store (PgStore or MemoryStore)',
      })
      .optional(),
    /**
     * AMQP URL, or the URLs of a cluster's nodes (it fails over between them); the worker
     * then creates (and closes) its own transport. Give this or `transport`.
     */
    amqpUrl: amqpUrlsSchema.optional(),
    /** A ready Transport (AmqpTransport, MemoryTransport). Not closed by the worker. */
    transport: z
      .custom<Transport>((v) => hasFns(v, ['consume', 'publish', 'assertQueue', 'deadLetter']), {
        error: 'a Transport (AmqpTransport or MemoryTransport)',
      })
      .optional(),
    /** The scope (`mock`, `real`, …): queues are `{scope}.jobs.{queue}`. */
    scope: scopeOption,
    /** Jobs to run; more can be added with `worker.handle()` before `start()`. @default [] */
    jobs: z
      .array(
        z.object({
          definition: z.custom<WorkerJob['definition']>(
            (v) => isObject(v) && typeof v.id === 'string' && isObject(v.config) && typeof v.parseParams === 'function',
            {
              error: 'a job definition from defineJob()',
            },
          ),
          handler: z.custom<WorkerJob['handler']>((v) => typeof v === 'function', { error: 'a handler function' }),
        }),
        { error: 'an array of { definition, handler }' },
      )
      .default([]),
    /**
     * Queues to consume whatever job is routed to them (jobs created at run time included);
     * more can be added with `worker.handleQueue()` before `start()`. `params` and `scope`
     * are checked as `handleQueue`'s options are. @default []
     */
    queues: z
      .array(
        z
          .object({
            queue: z.string({ error: 'a queue name' }),
            handler: z.custom<WorkerQueue['handler']>((v) => typeof v === 'function', { error: 'a handler function' }),
            // Checked by handleQueue, with the rule defineJob's `params` uses.
            params: z.custom<WorkerQueue['params']>(() => true).optional(),
            scope: z.string({ error: 'a scope string' }).optional(),
          })
          .strict(),
        { error: 'an array of { queue, handler, params?, scope? }' },
      )
      .default([]),
    /** Handlers running at once per queue. @default 10 */
    concurrency: int(1, 10_000).default(10),
    /**
     * Runs taken per queue at once: the consumer's prefetch, and the most runs this worker
     * holds per queue (being claimed, claimed and waiting for a free handler slot, or
     * running). Room above `concurrency` lets claims batch while handlers run. At least
     * `concurrency`. @default 2 × concurrency
     */
    prefetch: int(1, 65_535).optional(),
    /** How long a claimed run's lease lasts without a heartbeat. @default '30s' */
    leaseTtl: duration(1000).default(30_000),
    /** How often running runs' leases are extended (one batched statement). @default leaseTtl / 3 */
    heartbeatInterval: duration(50).optional(),
    /** How long close() waits for running handlers before aborting them. @default '30s' */
    shutdownGrace: duration(0).default(30_000),
    /**
     * How much longer than `shutdownGrace` close() keeps retrying results not yet written
     * (the database unreachable) before giving up on them (they are then left to lease
     * expiry, and a finished run is retried by the leader). @default '10s'
     */
    completionFlushTimeout: duration(0).default(10_000),
    /** After a timeout aborts the signal, how long a handler may take to settle before the run is recorded `timed_out` anyway. @default '5s' */
    timeoutGrace: duration(0).default(5_000),
    /** Identifies this worker in run rows and leases. @default `${hostname}-${pid}-${random}` */
    workerId: z
      .string({ error: '1-200 characters' })
      .min(1, { error: '1-200 characters' })
      .max(200, { error: '1-200 characters' })
      .optional(),
    /** The IANA time zone of a cron that names no `tz`, for the definitions this worker syncs; the scheduler's `timezone`. @default 'UTC' */
    timezone: timeZoneOption,
    /** @default systemClock */
    clock: z
      .custom<Clock>((v) => hasFns(v, ['now', 'setTimer', 'sleep']), { error: 'a Clock (now, setTimer, sleep)' })
      .default(systemClock),
    /** Optional structured logger (pino, winston, ...); `debug('warren:worker')` is always written. */
    logger: z
      .custom<WorkerLogger>((v) => hasFns(v, ['debug', 'info', 'warn', 'error']), { error: 'a logger with debug/info/warn/error' })
      .optional(),
    /**
     * Prove this worker alive through PostgreSQL (docs/reliability.md): a session-level
     * advisory lock on one dedicated connection (outside the pool), released by the server
     * the moment the process dies, so the leader retries its runs within seconds instead of
     * at lease expiry. `false` (PgBouncer in transaction mode, where a session lock cannot be
     * held): the lease alone, as before. @default true; with `pgbouncer`, only when a
     * `livenessClient` connects around PgBouncer
     */
    liveness: z.boolean({ error: 'a boolean' }).optional(),
    /**
     * Opens the liveness connection: a function returning a new, unconnected `pg.Client`
     * (e.g. straight to PostgreSQL when `pool` goes through PgBouncer).
     * @default `new pool.Client(pool.options)` (the pool's own settings, outside the pool)
     */
    livenessClient: z
      .custom<() => LivenessClient>((v) => typeof v === 'function', { error: 'a function returning a new pg.Client' })
      .optional(),
    /**
     * How `logger` is called: `'pino'` → `logger.info(fields, message)` (pino, bunyan);
     * `'winston'` → `logger.info(message, fields)`; `'auto'` recognises pino and bunyan
     * instances and uses `'winston'` for anything else. @default 'auto'
     */
    loggerStyle: z.enum(LOGGER_STYLES, { error: 'one of "auto", "pino", "winston"' }).default('auto'),
    /** Claims and completions are batched into single statements. */
    batch: z
      .object(
        {
          /** Most runs claimed or completed in one statement. @default 100 */
          maxSize: int(1, 10_000).default(100),
        },
        { error: 'an object { maxSize }' },
      )
      .strict()
      .default({ maxSize: 100 }),
  })
  .strict()
  .superRefine((o, ctx) => {
    if ((o.pool === undefined) === (o.store === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['pool'],
        message: `exactly one of \`pool\` or \`store\``,
        params: { got: o.pool === undefined ? 'neither' : 'both' },
      });
    }
    if ((o.amqpUrl === undefined) === (o.transport === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['amqpUrl'],
        message: `exactly one of \`amqpUrl\` or \`transport\``,
        params: { got: o.amqpUrl === undefined ? 'neither' : 'both' },
      });
    }
    if (o.prefetch !== undefined && o.prefetch < o.concurrency) {
      ctx.addIssue({
        code: 'custom',
        path: ['prefetch'],
        message: `an integer from ${o.concurrency} (concurrency) to 65535`,
        input: o.prefetch,
      });
    }
    if (o.heartbeatInterval !== undefined && o.heartbeatInterval >= o.leaseTtl) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeatInterval'],
        message: shorterThanRule('leaseTtl', o.leaseTtl),
        input: o.heartbeatInterval,
      });
    }
  })
  .transform(({ heartbeatInterval, prefetch, workerId, liveness, ...o }) => ({
    ...o,
    heartbeatInterval: heartbeatInterval ?? Math.max(50, Math.floor(o.leaseTtl / 3)),
    prefetch: prefetch ?? Math.min(65_535, 2 * o.concurrency),
    workerId: workerId ?? defaultWorkerId(),
    // A session lock cannot be held through PgBouncer (transaction mode); a direct client can.
    liveness: liveness ?? (!o.pgbouncer || o.livenessClient !== undefined),
  }));

/** What `createWorker()` accepts. */
export type WorkerOptions = z.input<typeof workerOptionsSchema>;

/** Options after validation: durations in ms, every default applied. */
export type ResolvedWorkerOptions = z.output<typeof workerOptionsSchema>;

export function defaultWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Validates and normalises; a bad option throws ERR_INVALID_OPTION naming the field. */
export function resolveWorkerOptions(input: unknown): ResolvedWorkerOptions {
  return parseOptions(workerOptionsSchema, input, {
    label: 'worker option',
    redact: redactUrlField('amqpUrl'),
  });
}
