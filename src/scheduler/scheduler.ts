/**
 * `createScheduler(options)`: joins leader election for a scope, syncs the code's job
 * definitions, and while leader runs the tick; on every instance it is also the control
 * API. Boots in any order: a database or broker that is down at start is retried with
 * capped, jittered backoff in the background; only a configuration error throws.
 */
import createDebug from 'debug';
import type { Timer } from '../clock.js';
import { WarrenError, isWarrenError } from '../errors.js';
import { AmqpTransport } from '../broker/amqp-transport.js';
import type { Transport } from '../broker/transport.js';
import type { JobDefinition } from '../define/types.js';
import { migrate } from '../store/migrate.js';
import { PgStore } from '../store/pg/index.js';
import type { AuditEntry, Fence, RunRecord, Store } from '../store/port.js';
import { syncDefinitions } from '../store/sync-definitions.js';
import { SafeEmitter } from '../util/events.js';
import { backoffDelayMs } from '../util/backoff.js';
import { createLog, type Log } from '../util/logger.js';
import { Readiness, type LifecycleState, type ReadyOptions } from '../util/readiness.js';
import { ControlApi } from './control.js';
import type {
  ActorOption,
  AuditOptions,
  BackfillOptions,
  BackfillResult,
  Control,
  JobDetails,
  JobStatus,
  PauseOptions,
  RunNowOptions,
  RunsOptions,
} from './control-types.js';
import { LEADER_RELEASED, LeaderElector } from './leader.js';
import { SchedulerLiveness } from './liveness.js';
import { parseSchedulerOptions, type ResolvedSchedulerOptions, type SchedulerOptions, type SchedulerRole } from './options.js';
import { RunPublisher } from './publisher.js';
import type { ReapedRun } from './reaper.js';
import { RetentionKeeper, type PruneSummary } from './retention.js';
import { Ticker, type TickSummary } from './tick.js';

const debug = createDebug('warren:scheduler');

export interface SchedulerEvents {
  /** A tick finished (leader only). */
  tick: [summary: TickSummary];
  /** A run's trigger was published by this leader (slot, outbox, reseed). */
  'slot:published': [run: RunRecord];
  /** A run whose lease expired was retried or failed. */
  'run:reaped': [reaped: ReapedRun];
  /** A failure the scheduler recovers from on its own (database or broker down, …). */
  error: [error: Error];
  'leader:gained': [fence: Fence];
  'leader:lost': [reason: string];
  /** A retention pass deleted runs (leader only; docs/retention.md). */
  'runs:pruned': [summary: PruneSummary];
}

/** Errors that retrying cannot fix: thrown from `start()`. */
const FATAL = new Set(['ERR_SCHEMA_TOO_NEW', 'ERR_INVALID_OPTION', 'ERR_INVALID_JOB']);

/**
 * A migration that Postgres itself rejected (syntax, privileges) is fatal; one that failed
 * because the connection did (SQLSTATE classes 08 connection, 53 resources, 57 operator
 * intervention, or no SQLSTATE at all: a socket error) is retried like any boot failure.
 */
function isFatal(error: unknown): boolean {
  if (!isWarrenError(error)) return false;
  if (FATAL.has(error.code)) return true;
  if (error.code !== 'ERR_MIGRATION_FAILED') return false;
  const state = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof state === 'string' && /^[0-9A-Z]{5}$/.test(state) && !/^(08|53|57)/.test(state);
}

export class Scheduler extends SafeEmitter<SchedulerEvents> implements Control {
  readonly scope: string;
  readonly instanceId: string;
  readonly role: SchedulerRole;
  readonly store: Store;
  readonly #o: ResolvedSchedulerOptions;
  readonly #logger: Log;
  readonly #readiness: Readiness;
  readonly #ownsStore: boolean;
  #transport: Transport | null;
  readonly #ownsTransport: boolean;
  readonly #control: ControlApi;
  readonly #elector: LeaderElector | null;
  readonly #ticker: Ticker | null;
  /** Null with `liveness: false` and on a control-only instance. */
  readonly #liveness: SchedulerLiveness | null;
  /** Null on a control-only instance. */
  readonly #retention: RetentionKeeper | null;
  #state: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  #bootTimer: Timer | null = null;
  #bootFailures = 0;
  #booted = false;
  #unsubscribe: (() => Promise<void>) | null = null;

  constructor(options: SchedulerOptions) {
    super();
    const o = parseSchedulerOptions(options);
    this.#o = o;
    this.scope = o.scope;
    this.instanceId = o.instanceId;
    this.role = o.role;
    this.#readiness = new Readiness(`scheduler ${o.instanceId}`, o.clock);
    this.#logger = createLog({ debug, logger: o.logger, style: o.loggerStyle, fields: { scope: o.scope, instance_id: o.instanceId } });
    this.#ownsStore = o.store === undefined;
    this.store =
      o.store ??
      new PgStore({
        pool: o.pool as never,
        schema: o.schema,
        preparedStatements: !o.pgbouncer,
        onError: (error) => this.#error(error, 'database'),
      });
    this.#ownsTransport = o.transport === undefined && o.amqpUrl !== undefined;
    this.#transport = o.transport ?? null;
    const publisher = new RunPublisher(this.store, () => this.#transport);
    const definitions = new Map<string, JobDefinition<unknown>>();
    for (const definition of o.jobs) if ((definition.scope ?? o.scope) === o.scope) definitions.set(definition.id, definition);
    this.#control = new ControlApi({
      store: this.store,
      scope: o.scope,
      clock: o.clock,
      publisher,
      definitions,
      timezone: o.timezone,
      guard: () => this.#guardControl(),
    });
    if (o.role === 'control-only') {
      this.#elector = null;
      this.#ticker = null;
      this.#liveness = null;
      this.#retention = null;
      return;
    }
    const ticker = new Ticker({
      store: this.store,
      publisher,
      scope: o.scope,
      clock: o.clock,
      safetyTickMs: o.safetyTickMs,
      outboxGraceMs: o.outboxGraceMs,
      lookAheadMs: o.lookAheadMs,
      republishAfterMs: o.republishAfterMs,
      maxSlotsPerTick: o.maxSlotsPerTick,
      fence: () => this.#elector?.fence() ?? null,
      onNotLeader: (reason) => this.#elector?.lost(reason),
      onTick: (summary) => this.emit('tick', summary),
      onPublished: (run) => this.emit('slot:published', run),
      onReaped: (reaped) => this.emit('run:reaped', reaped),
      onError: (error) => this.#error(error, 'tick'),
    });
    this.#ticker = ticker;
    const liveness = o.liveness
      ? new SchedulerLiveness({
          store: this.store,
          publisher,
          scope: o.scope,
          instanceId: o.instanceId,
          clock: o.clock,
          createClient: o.livenessClient,
          checkIntervalMs: o.livenessCheckIntervalMs,
          graceMs: o.livenessGraceMs,
          limit: o.maxSlotsPerTick,
          onReaped: (reaped) => this.emit('run:reaped', reaped),
          onHeld: (held) => {
            if (!held) this.#elector?.relinquish('liveness lock lost (its connection dropped)');
          },
          onError: (error) => this.#error(error, 'liveness'),
        })
      : null;
    this.#liveness = liveness;
    const retention = new RetentionKeeper({
      store: this.store,
      scope: o.scope,
      clock: o.clock,
      defaults: { maxAgeMs: o.retention.maxAgeMs, keepLast: o.retention.keepLast },
      intervalMs: o.retention.intervalMs,
      batchSize: o.retention.batchSize,
      actor: o.instanceId,
      isLeader: () => this.isLeader(),
      onPruned: (summary) => this.emit('runs:pruned', summary),
      onError: (error) => this.#error(error, 'retention'),
    });
    this.#retention = retention;
    this.#elector = new LeaderElector({
      store: this.store,
      scope: o.scope,
      instanceId: o.instanceId,
      clock: o.clock,
      ttlMs: o.leaseTtlMs,
      renewMs: o.renewIntervalMs,
      ...(liveness === null ? {} : { awaitRelease: liveness.awaitRelease, releaseGraceMs: o.livenessGraceMs }),
      onGained: (fence) => {
        this.#logger.info('leading', { fence: fence.epoch });
        ticker.start();
        liveness?.startWatch();
        retention.start();
        this.emit('leader:gained', fence);
      },
      onLost: (reason) => {
        this.#logger.warn('no longer leading', { reason });
        void ticker.stop();
        void liveness?.stopWatch();
        void retention.stop();
        this.emit('leader:lost', reason);
      },
      onError: (error) => this.#error(error, 'leader'),
    });
  }

  isLeader(): boolean {
    return this.#elector?.isLeader() ?? false;
  }

  /** `idle` → `starting` (connecting, retrying) → `running` (ready) → `closing` → `closed`. */
  get state(): LifecycleState {
    switch (this.#state) {
      case 'new':
        return 'idle';
      case 'stopping':
        return 'closing';
      case 'stopped':
        return 'closed';
      default:
        return this.#readiness.isReady ? 'running' : 'starting';
    }
  }

  /**
   * Migrates (with a pool, unless `migrate: false`), syncs the code's definitions, listens
   * for job changes and joins leader election. Resolves after the first attempt: when the
   * database is down it keeps retrying in the background and logs; only a configuration
   * error (a newer schema, an invalid definition) rejects. Await `ready()` to know it is
   * connected.
   */
  start(): Promise<void> {
    if (this.#closed()) return Promise.reject(new WarrenError('ERR_CLOSED', 'The scheduler was stopped; create a new one'));
    if (this.#starting) return this.#starting;
    this.#state = 'starting';
    this.#starting = (async () => {
      if (this.#ownsTransport && this.#transport === null) {
        const transport = new AmqpTransport({ url: this.#o.amqpUrl!, scope: this.#o.scope });
        transport.on('error', (error) => this.#error(error, 'broker'));
        this.#transport = transport;
      }
      // A returning broker is used at once: the outbox sends what was decided meanwhile.
      this.#transport?.on('connect', this.#onBrokerBack).on('connect', this.#onConnect).on('connectFailed', this.#onConnectFailed);
      await this.#boot();
      if (this.#state === 'starting') this.#state = 'started';
    })();
    return this.#starting;
  }

  readonly #onBrokerBack = (): void => {
    if (this.isLeader()) this.#ticker?.wake();
  };

  async #boot(): Promise<void> {
    if (this.#closed()) return;
    const o = this.#o;
    try {
      if (o.pool && o.migrate) await migrate(o.pool as never, { schema: o.schema });
      const now = new Date(o.clock.now());
      await syncDefinitions(this.store, o.scope, o.jobs, now, o.timezone);
      // With no definitions to sync nothing above has asked the database yet; ready() must mean it answers.
      if (o.jobs.length === 0) await this.store.getLeadership(o.scope, now);
      // A control-only instance neither leads nor ticks: it only sends notifications. Behind
      // PgBouncer (transaction mode) LISTEN is not delivered; the safety tick covers it.
      if (this.#unsubscribe === null && this.#elector !== null && !o.pgbouncer) {
        this.#unsubscribe = await this.store.onJobChange(o.scope, (change) => {
          if (change.jobId === LEADER_RELEASED || !this.isLeader()) this.#elector?.wake();
          if (this.isLeader() && change.jobId !== LEADER_RELEASED) this.#ticker?.wake();
        });
      }
      if (this.#closed()) return;
      this.#booted = true;
      this.#bootFailures = 0;
      // Before electing: a leader without its lock would be found dead only by its lease.
      this.#liveness?.hold();
      this.#elector?.start();
      this.#onConnect();
      debug('%s started in scope %s (role %s)', this.instanceId, o.scope, this.role);
    } catch (error) {
      if (isFatal(error)) {
        this.#readiness.fail(error);
        throw error;
      }
      this.#bootFailures += 1;
      const delay = backoffDelayMs({ delayMs: 500, maxMs: 30_000 }, this.#bootFailures);
      this.#error(error, 'start');
      this.#logger.warn(`start failed, retrying in ${delay} ms`, { attempt: this.#bootFailures, error: (error as Error)?.message });
      this.#bootTimer = o.clock.setTimer(() => {
        this.#bootTimer = null;
        this.#boot().catch((fatal) => this.#error(fatal, 'start'));
      }, delay);
    }
  }

  /** Releases the lease (another instance takes over at once), cancels timers, closes what it created. Idempotent. */
  close(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#state = 'stopping';
    this.#readiness.fail(new WarrenError('ERR_CLOSED', `scheduler ${this.instanceId} is closed`));
    this.#stopping = (async () => {
      this.#bootTimer?.cancel();
      this.#bootTimer = null;
      await this.#starting?.catch(() => {});
      // Stop arming ticks, then close our own transport before awaiting the tick in flight:
      // a tick waiting on a publish to an unreachable broker would otherwise hold close() (and
      // the lease) until publishTimeout. Closing rejects those publishes (ERR_CLOSED) and the
      // runs stay unpublished, for the next leader's outbox. An injected transport is the
      // host's to close; its publishTimeout bounds the wait.
      const tickerStopped = this.#ticker?.stop();
      if (this.#ownsTransport) await this.#transport?.close().catch(() => {});
      await tickerStopped;
      await this.#retention?.stop();
      await this.#liveness?.stopWatch();
      await this.#elector?.stop();
      // After the lease is released (followers were told): the lock goes with the connection.
      await this.#liveness?.close();
      this.#transport?.off('connect', this.#onBrokerBack).off('connect', this.#onConnect).off('connectFailed', this.#onConnectFailed);
      const unsubscribe = this.#unsubscribe;
      this.#unsubscribe = null;
      await unsubscribe?.().catch(() => {});
      if (this.#ownsTransport) await this.#transport?.close().catch(() => {});
      if (this.#ownsStore) await this.store.close().catch(() => {});
      this.#state = 'stopped';
      debug('%s stopped', this.instanceId);
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Resolves once definitions are synced, the instance takes part in election and its
   * broker (if any) is connected. With `timeout`, rejects with `ERR_NOT_READY` whose
   * `cause` is the last connection error (wrong password, unresolvable host, refused
   * port); with `signal`, rejects when it aborts. Rejects with the fatal error `start()`
   * threw, and with `ERR_CLOSED` once closed.
   */
  ready(options?: ReadyOptions): Promise<void> {
    return this.#readiness.wait(options);
  }

  readonly #onConnect = (): void => {
    if (this.#booted && (this.#transport === null || this.#transport.isConnected())) this.#readiness.markReady();
  };

  readonly #onConnectFailed = (error: Error): void => {
    this.#readiness.noteError(error);
  };

  // ── control API (any instance) ───────────────────────────────────────────
  list(): Promise<JobStatus[]> {
    return this.#control.list();
  }
  get(id: string): Promise<JobDetails> {
    return this.#control.get(id);
  }
  upsert(body: unknown, options?: ActorOption): Promise<JobDetails> {
    return this.#control.upsert(body, options);
  }
  update(id: string, patch: unknown, options?: ActorOption): Promise<JobDetails> {
    return this.#control.update(id, patch, options);
  }
  remove(id: string, options?: ActorOption): Promise<void> {
    return this.#control.remove(id, options);
  }
  pause(id: string, options?: PauseOptions): Promise<JobDetails> {
    return this.#control.pause(id, options);
  }
  resume(id: string, options?: ActorOption): Promise<JobDetails> {
    return this.#control.resume(id, options);
  }
  runNow(id: string, options?: RunNowOptions): Promise<RunRecord> {
    return this.#control.runNow(id, options);
  }
  runs(id: string, options?: RunsOptions): Promise<RunRecord[]> {
    return this.#control.runs(id, options);
  }
  backfill(id: string, options: BackfillOptions): Promise<BackfillResult> {
    return this.#control.backfill(id, options);
  }
  audit(options?: AuditOptions): Promise<AuditEntry[]> {
    return this.#control.audit(options);
  }

  #closed(): boolean {
    return this.#state === 'stopping' || this.#state === 'stopped';
  }

  #guardControl(): void {
    if (this.role === 'scheduler-only') {
      throw new WarrenError('ERR_INVALID_OPTION', 'The control API is disabled on this instance (role "scheduler-only")', {
        field: 'role',
      });
    }
    if (this.#closed()) throw new WarrenError('ERR_CLOSED', 'The scheduler was stopped');
  }

  #error(error: unknown, where: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.#readiness.noteError(err);
    this.#logger.error(`scheduler ${where}: ${err.message}`);
    this.emit('error', err);
  }
}

/** Creates a scheduler (validated options; nothing connects until `start()`). */
export function createScheduler(options: SchedulerOptions): Scheduler {
  return new Scheduler(options);
}

export type { SchedulerOptions, SchedulerRole } from './options.js';
