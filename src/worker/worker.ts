import { AmqpTransport } from '../broker/amqp-transport.js';
import type { Consumer, Transport } from '../broker/transport.js';
import { settle, type Clock } from '../clock.js';
import type { StandardSchemaV1 } from '../define/standard-schema.js';
import type { JobDefinition, JobHandler, ParamsOf } from '../define/types.js';
import { WarrenError, describeValue } from '../errors.js';
import { workQueueName } from '../names.js';
import { publishRuns } from '../scheduler/publish-runs.js';
import { PgStore } from '../store/pg/index.js';
import type {
  ClaimRequest,
  ClaimResult,
  Completion,
  CompletionResult,
  JobRecord,
  LivenessHandle,
  RunRecord,
  Store,
} from '../store/port.js';
import { syncDefinitions } from '../store/sync-definitions.js';
import { withDeadline } from '../util/deadline.js';
import { SafeEmitter } from '../util/events.js';
import { createLog, type Log } from '../util/logger.js';
import { Readiness, type LifecycleState, type ReadyOptions } from '../util/readiness.js';
import { Batcher } from './batcher.js';
import { retryUntil, type WorkerCore } from './core.js';
import { errorText } from './dead-letter.js';
import { onDelivery } from './delivery.js';
import { emptyStats, type WorkerEvents, type WorkerStats } from './events.js';
import { Handlers, asOptionError, type QueueHandlerOptions, type QueueParams } from './handlers.js';
import { Heartbeat } from './heartbeat.js';
import { workerDebug } from './job-logger.js';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './options.js';
import { RunBook } from './run-book.js';
import { TimerGroup } from '../util/timer-group.js';
import { startupRun } from './startup-runs.js';

/** After the grace (and the results' flush), the most close() waits for the transport to close and background tasks to end. */
const CLOSE_TAIL_MS = 5_000;
/** Bounds of how long before a held trigger's instant its claim goes out (claimLeadMs). */
const MIN_CLAIM_LEAD_MS = 2;
const MAX_CLAIM_LEAD_MS = 250;

export type WorkerState = LifecycleState;

/** What `createWorker()` returns. */
export interface Worker {
  readonly workerId: string;
  readonly scope: string;
  readonly state: WorkerState;
  /** Registers a handler; its params are typed by the definition. Only before start(). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handle<D extends JobDefinition<any>>(definition: D, handler: JobHandler<ParamsOf<D>>): Worker;
  /**
   * Consumes `{scope}.jobs.{queue}` and runs every job routed to it, jobs created at run
   * time (REST, Telegram, `upsert`) included, with their stored settings (timeout, retry,
   * overlap, chain). A job this worker has a definition for keeps its own handler. Only
   * before start().
   */
  handleQueue<S extends StandardSchemaV1 | undefined = undefined>(
    queue: string,
    handler: JobHandler<QueueParams<S>>,
    options?: QueueHandlerOptions<S>,
  ): Worker;
  /** Starts in the background and resolves at once: an unreachable broker or database is retried, never thrown. */
  start(): Promise<void>;
  /**
   * Resolves once definitions are synced and the queues are consumed with the broker
   * connected (the `started` event). With `timeout`, rejects with `ERR_NOT_READY` whose
   * `cause` is the last connection error (wrong password, unresolvable host, refused
   * port); with `signal`, when it aborts; with `ERR_CLOSED` once closed.
   */
  ready(options?: ReadyOptions): Promise<void>;
  /** Stops consuming, waits for running handlers up to shutdownGrace, then aborts them; idempotent. */
  close(): Promise<void>;
  stats(): WorkerStats;
  on<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): Worker;
  once<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): Worker;
  off<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): Worker;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates a worker; only invalid options throw (ERR_INVALID_OPTION naming the field). */
export function createWorker(options: WorkerOptions): Worker {
  return new WorkerImpl(resolveWorkerOptions(options));
}

class WorkerImpl implements Worker, WorkerCore {
  readonly opts: ResolvedWorkerOptions;
  readonly clock: Clock;
  readonly timers: TimerGroup;
  readonly events = new SafeEmitter<WorkerEvents>();
  readonly log: Log;
  readonly #stats = emptyStats();
  readonly handlers: Handlers;
  readonly book: RunBook;
  readonly claims: Batcher<ClaimRequest, ClaimResult>;
  readonly completions: Batcher<Completion, CompletionResult>;
  readonly completionBacklog: number;
  /** Aborted when close() begins: boot retries stop. */
  readonly #bootController = new AbortController();
  /** Aborted when close() gives up (grace over): background retries stop. */
  readonly #closeController = new AbortController();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #consumers: Consumer[] = [];
  readonly #heartbeat: Heartbeat;
  #store: Store | undefined;
  #transport: Transport | undefined;
  #ownsStore = false;
  #ownsTransport = false;
  #liveness: LivenessHandle | null = null;
  #state: WorkerState = 'idle';
  #booting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /**
   * Clock ms a claim call takes, a moving average. Seeded high: a worker's first claims (cold
   * connections, statements not yet prepared, code not yet optimised) took 20–30 ms on
   * loopback where later ones take 2–5, and a first held slot claimed on a 5 ms guess started
   * that much late. Measured claims bring it down within about ten batches.
   */
  #claimMs = 25;
  readonly #readiness: Readiness;

  constructor(opts: ResolvedWorkerOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.timers = new TimerGroup(opts.clock);
    this.handlers = new Handlers({ scope: opts.scope });
    this.book = new RunBook({ concurrency: opts.concurrency, prefetch: opts.prefetch }, this.clock);
    this.#readiness = new Readiness(`worker ${opts.workerId}`, opts.clock);
    this.log = createLog({
      debug: workerDebug,
      logger: opts.logger,
      style: opts.loggerStyle,
      fields: { worker_id: opts.workerId, scope: opts.scope },
    });
    for (const job of opts.jobs) this.handle(job.definition, job.handler);
    opts.queues.forEach(({ queue, handler, ...options }, i) => {
      try {
        this.handleQueue(queue, handler, options);
      } catch (err) {
        throw asOptionError(err, 'worker', `queues.${i}`);
      }
    });
    // When each claim request was first sent: a retried batch may find its own earlier claim.
    const firstSent = new WeakMap<ClaimRequest, number>();
    // Under a backlog a second claim goes while one is in flight (Postgres has more cores): once
    // half a window waits (a window smaller than two batches never has a full one waiting), at
    // most a full batch. Deliveries wait unacked for their claim, so claims are the drain's path.
    const overlapAt = Math.max(1, Math.min(opts.batch.maxSize, Math.floor(opts.prefetch / 2)));
    this.claims = new Batcher({
      name: 'claim',
      maxSize: opts.batch.maxSize,
      maxInFlight: 2,
      overlapAt,
      clock: this.clock,
      run: async (items) => {
        const now = this.clock.now();
        const since = items.map((item) => firstSent.get(item));
        for (const item of items) if (!firstSent.has(item)) firstSent.set(item, now);
        const results = await this.store.claimRuns(items, { now: new Date(now), leaseMs: opts.leaseTtl, workerId: opts.workerId });
        this.#claimMs = this.#claimMs + (this.clock.now() - now - this.#claimMs) / 8;
        return results.map((result, i) => (since[i] === undefined ? result : this.#ownEarlierClaim(result, items[i]!, since[i]!)));
      },
      onRetry: (err, attempt, delay) =>
        workerDebug('claimRuns failed (attempt %d), retrying in %d ms with deliveries held: %s', attempt, delay, errorText(err)),
    });
    this.completions = new Batcher({
      name: 'complete',
      maxSize: opts.batch.maxSize,
      // Results are off the runs' path (the slot is free already): they wait for a full batch to overlap.
      maxInFlight: 2,
      clock: this.clock,
      run: (items) => this.store.completeRuns(items),
      onRetry: (err, attempt, delay) =>
        workerDebug('completeRuns failed (attempt %d), retrying in %d ms: %s', attempt, delay, errorText(err)),
    });
    this.completionBacklog = 2 * opts.batch.maxSize;
    this.#heartbeat = new Heartbeat(this);
  }

  /**
   * A claim batch retried after a connection error may find that an earlier try did commit
   * (only its reply was lost): the store answers `duplicate` for a run this worker holds at
   * that attempt, claimed since the request was first sent. That claim is ours; left as a
   * duplicate the run would wait out its lease with no handler. Never for a (run, attempt)
   * already held here.
   */
  #ownEarlierClaim(result: ClaimResult, request: ClaimRequest, since: number): ClaimResult {
    const run = result.run;
    if (result.outcome !== 'duplicate' || run === null || result.job === null) return result;
    if (run.status !== 'running' || run.workerId !== this.opts.workerId || run.attempt !== request.attempt) return result;
    if (run.startedAt === null || run.startedAt.getTime() < since) return result;
    if (this.book.get(request.runId)?.run.attempt === request.attempt) return result;
    workerDebug('claim of %s attempt %d committed on an earlier try (its reply was lost): claimed', request.runId, request.attempt);
    return { ...result, outcome: 'claimed' };
  }

  get workerId(): string {
    return this.opts.workerId;
  }

  get scope(): string {
    return this.opts.scope;
  }

  get state(): WorkerState {
    return this.#state;
  }

  claimLeadMs(): number {
    return Math.min(MAX_CLAIM_LEAD_MS, Math.max(MIN_CLAIM_LEAD_MS, Math.ceil(2 * this.#claimMs)));
  }

  stats(): WorkerStats {
    return { ...this.#stats };
  }

  count(counter: keyof WorkerStats): void {
    this.#stats[counter] += 1;
  }

  get store(): Store {
    if (!this.#store) throw new WarrenError('ERR_CLOSED', 'worker not started');
    return this.#store;
  }

  get transport(): Transport {
    if (!this.#transport) throw new WarrenError('ERR_CLOSED', 'worker not started');
    return this.#transport;
  }

  get closing(): AbortSignal {
    return this.#closeController.signal;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handle<D extends JobDefinition<any>>(definition: D, handler: JobHandler<ParamsOf<D>>): Worker {
    this.#assertIdle(`worker.handle(${describeValue(definition?.id)})`, 'definition');
    this.handlers.addDefinition(definition, handler);
    return this;
  }

  handleQueue<S extends StandardSchemaV1 | undefined = undefined>(
    queue: string,
    handler: JobHandler<QueueParams<S>>,
    options?: QueueHandlerOptions<S>,
  ): Worker {
    this.#assertIdle(`worker.handleQueue(${describeValue(queue)})`, 'queue');
    this.handlers.addQueue(queue, handler, options);
    return this;
  }

  #assertIdle(call: string, field: string): void {
    if (this.#state !== 'idle')
      throw new WarrenError('ERR_INVALID_ARGUMENT', `${call}: the worker already started; register handlers before start()`, { field });
  }

  async start(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new WarrenError('ERR_CLOSED', 'worker.start(): the worker is closed');
    if (this.#state !== 'idle') return;
    this.#state = 'starting';
    if (this.opts.store) this.#store = this.opts.store;
    else {
      this.#store = new PgStore({
        pool: this.opts.pool!,
        schema: this.opts.schema,
        clock: this.clock,
        preparedStatements: !this.opts.pgbouncer,
        onError: (err) => this.events.emit('error', err),
      });
      this.#ownsStore = true;
    }
    if (this.opts.transport) this.#transport = this.opts.transport;
    else {
      this.#transport = new AmqpTransport({ url: this.opts.amqpUrl!, scope: this.opts.scope });
      this.#ownsTransport = true;
      // An owned transport's errors are ours to log (a reconnecting broker is not fatal).
      this.#transport.on('error', (err) => {
        workerDebug('transport error: %s', err.message);
        this.#readiness.noteError(err);
      });
    }
    this.#transport.on('return', this.#onReturn).on('connectFailed', this.#onConnectFailed);
    // Taken in the background; once held it covers every run this worker holds, earlier claims too.
    if (this.opts.liveness)
      this.#liveness = this.#store.holdLiveness(
        'worker',
        this.workerId,
        this.opts.livenessClient ? { createClient: this.opts.livenessClient } : {},
      );
    this.#heartbeat.start();
    this.#booting = this.#boot().catch((err: unknown) => {
      workerDebug('boot failed: %O', err);
      this.#readiness.fail(err);
      this.events.emit('error', err instanceof Error ? err : new Error(errorText(err)));
    });
    workerDebug('worker %s starting in scope %s with %d handler(s)', this.workerId, this.scope, this.handlers.size);
  }

  readonly #onReturn = (queue: string, messageId: string | undefined): void => {
    workerDebug('broker returned %s for %s', messageId, queue);
  };

  readonly #onConnectFailed = (err: Error): void => {
    this.#readiness.noteError(err);
  };

  ready(options?: ReadyOptions): Promise<void> {
    return this.#readiness.wait(options);
  }

  async #boot(): Promise<void> {
    const signal = this.#bootController.signal;
    await Promise.all([this.#bootStore(signal), this.#bootTransport(signal)]);
    if (signal.aborted) return;
    await this.transport.waitForConnect(signal).catch(() => undefined);
    if (signal.aborted) return;
    this.#state = 'running';
    this.#readiness.markReady();
    workerDebug('worker %s started', this.workerId);
    this.events.emit('started');
  }

  /** Boot in any order: the database may be down; keep trying until it answers. */
  async #bootStore(signal: AbortSignal): Promise<void> {
    const definitions = this.handlers.definitions();
    const load = async () => [
      ...(await syncDefinitions(this.store, this.scope, definitions, new Date(this.clock.now()), this.opts.timezone)),
      ...(await this.#queueJobs()),
    ];
    const records = await retryUntil('sync definitions', load, {
      clock: this.clock,
      signal,
      onError: (err, attempt) => this.#warn('store unreachable at start; retrying', err, attempt),
    });
    if (!records) return;
    const startup = records.filter((r) => r.runOnStartup && r.enabled);
    if (startup.length > 0) await this.#insertStartupRuns(startup, signal);
  }

  /** The store's jobs routed to a queue handler here and not defined here (their runOnStartup is this worker's too). */
  async #queueJobs(): Promise<JobRecord[]> {
    const handled = this.handlers.handledQueues();
    const found: JobRecord[] = [];
    for (const scope of new Set(handled.map((q) => q.scope))) {
      const queues = new Set(handled.filter((q) => q.scope === scope).map((q) => q.workQueue));
      const jobs = await this.store.listJobs(scope);
      found.push(...jobs.filter((job) => queues.has(workQueueName(scope, job.queue)) && !this.handlers.hasDefinition(job.jobId)));
    }
    return found;
  }

  async #insertStartupRuns(jobs: JobRecord[], signal: AbortSignal): Promise<void> {
    const now = this.clock.now();
    const byScope = new Map<string, JobRecord[]>();
    for (const job of jobs) byScope.set(job.scope, [...(byScope.get(job.scope) ?? []), job]);
    for (const [scope, scoped] of byScope) {
      const inserted = await retryUntil(
        'insert startup runs',
        () =>
          this.store.insertRuns(
            scope,
            scoped.map((j) => startupRun(scope, j, now)),
            new Date(now),
          ),
        { clock: this.clock, signal },
      );
      if (!inserted || inserted.length === 0) continue;
      workerDebug('inserted %d startup run(s) in %s', inserted.length, scope);
      const configOf = (run: RunRecord) => scoped.find((j) => j.jobId === run.jobId);
      let left = inserted;
      await retryUntil(
        'publish startup runs',
        async () => {
          const { failed } = await publishRuns(this.transport, this.store, left, configOf, this.clock.now());
          if (failed.length === 0) return true;
          left = left.filter((r) => failed.some((f) => f.runId === r.runId));
          throw failed[0]!.error;
        },
        { clock: this.clock, signal },
      );
    }
  }

  /** Declares and consumes every distinct work queue (several jobs may share one). */
  async #bootTransport(signal: AbortSignal): Promise<void> {
    const queues = this.handlers.workQueues();
    const consumed = new Set<string>();
    await retryUntil(
      'assert and consume queues',
      async () => {
        for (const queue of queues) {
          if (consumed.has(queue) || signal.aborted) continue;
          await this.transport.assertQueue(queue);
          const consumer = await this.transport.consume(queue, (delivery) => onDelivery(this, delivery), { prefetch: this.opts.prefetch });
          if (signal.aborted) {
            await consumer.cancel().catch(() => undefined);
            return true;
          }
          this.#consumers.push(consumer);
          consumed.add(queue);
          workerDebug('consuming %s (prefetch %d, concurrency %d)', queue, this.opts.prefetch, this.opts.concurrency);
        }
        return true;
      },
      { clock: this.clock, signal, onError: (err, attempt) => this.#warn('cannot consume the work queues; retrying', err, attempt) },
    );
  }

  #warn(message: string, err: unknown, attempt: number): void {
    this.#readiness.noteError(err);
    // The first failure and then every tenth, so a long outage does not flood the host's log.
    if (attempt !== 1 && attempt % 10 !== 0) return;
    this.log.warn(message, { attempt, error: errorText(err) });
  }

  track(task: Promise<unknown>): void {
    const t = task.catch((err: unknown) => {
      workerDebug('background task failed: %O', err);
      this.events.emit('error', err instanceof Error ? err : new Error(errorText(err)));
    });
    this.#tasks.add(t);
    void t.finally(() => this.#tasks.delete(t));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasStarted = this.#state !== 'idle';
    this.#state = 'closing';
    this.#readiness.fail(new WarrenError('ERR_CLOSED', `worker ${this.workerId} is closed`));
    this.#bootController.abort(new WarrenError('ERR_CLOSED', 'worker closing'));
    if (!wasStarted) {
      this.#closeController.abort(new WarrenError('ERR_CLOSED', 'worker closed'));
      this.#state = 'closed';
      return;
    }
    workerDebug('worker %s closing: %d run(s) in progress', this.workerId, this.book.size);
    await Promise.all(this.#consumers.map((c) => c.cancel().catch((err: Error) => workerDebug('cancel consumer: %s', err.message))));
    // Deliveries waiting for a window place are not claimed: they stay unacked and go back to
    // the queue. Claimed runs waiting for a handler slot keep waiting: they run within the grace.
    this.book.closeWindows();
    // Queued claims are dropped (their deliveries stay unacked and go back to the queue);
    // the claim in flight finishes, so a run claimed in Postgres is also run.
    this.claims.drain();
    const graceEnd = this.clock.now() + this.opts.shutdownGrace;
    // Handlers get shutdownGrace to finish; then their signal aborts and their runs are left to lease expiry.
    const settledInGrace = await withDeadline(this.clock, this.#bootedAndSettled(), this.opts.shutdownGrace);
    for (const entry of this.book.runs()) {
      entry.execution.abort(
        'shutdown',
        new WarrenError('ERR_CLOSED', `worker ${this.workerId} shut down before run ${entry.run.runId} finished`),
      );
    }
    // Results of finished handlers, retries and chain links are flushed within the same grace (none is left once it is over).
    if (settledInGrace) await withDeadline(this.clock, this.#tasksDone(), graceEnd - this.clock.now());
    // Results still unwritten (the database unreachable) get completionFlushTimeout more:
    // a dropped success would be reaped at lease expiry and run again.
    if (this.completions.size > 0) {
      workerDebug('%d result(s) not written yet; retrying them for up to %d ms', this.completions.size, this.opts.completionFlushTimeout);
      await withDeadline(this.clock, this.completions.idle(), this.opts.completionFlushTimeout);
    }
    const unwritten = this.completions.size;
    this.#closeController.abort(new WarrenError('ERR_CLOSED', 'worker closed'));
    this.claims.stop();
    this.completions.stop();
    if (unwritten > 0) {
      this.events.emit(
        'error',
        new WarrenError(
          'ERR_CLOSED',
          `worker ${this.workerId} closed with ${unwritten} run result(s) not recorded (database unreachable): those runs stay running until their lease expires, then the leader's reaper retries them`,
          {
            details: { unwritten },
          },
        ),
      );
    }
    await this.#heartbeat.stop();
    this.#transport?.off('return', this.#onReturn).off('connectFailed', this.#onConnectFailed);
    // Close an owned transport before the last wait: that rejects publishes buffered for an
    // unreachable broker, which would otherwise hold close() (their runs are safe in
    // Postgres, pending and unpublished: the leader's outbox publishes them). A given
    // transport stays open, so the wait is bounded.
    const transportClosed = this.#ownsTransport
      ? this.#transport!.close().catch((err: Error) => workerDebug('transport close: %s', err.message))
      : Promise.resolve();
    await withDeadline(this.clock, Promise.all([this.#tasksDone(), transportClosed]), CLOSE_TAIL_MS, () =>
      workerDebug('worker %s: %d background task(s) still pending after close; left behind', this.workerId, this.#tasks.size),
    );
    // Last: what is still running now is abandoned, and the leader retries it after the grace.
    await this.#liveness?.close();
    if (this.#ownsStore) await this.#store?.close().catch((err: Error) => workerDebug('store close: %s', err.message));
    this.#state = 'closed';
    workerDebug('worker %s closed', this.workerId);
  }

  /** Boot ended (its retries stop once close() begins), then every claimed run's handler settled. */
  async #bootedAndSettled(): Promise<void> {
    await this.#booting;
    for (;;) {
      await this.claims.idle();
      // Let deliveries whose claim just resolved register their run.
      await settle(1);
      const pending = this.book.unsettled();
      if (pending.length === 0 && this.claims.size === 0) return;
      await Promise.all(pending.map((r) => r.execution.outcome));
    }
  }

  async #tasksDone(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  on<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): Worker {
    this.events.on(event, listener);
    return this;
  }

  once<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): Worker {
    this.events.once(event, listener);
    return this;
  }

  off<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): Worker {
    this.events.off(event, listener);
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
