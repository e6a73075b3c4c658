/* eslint-disable @typescript-eslint/no-explicit-any -- the harness holds job definitions and handlers of every params type side by side */
import { FakeClock, settle, type Clock } from '../clock.js';
import { WarrenError } from '../errors.js';
import { workQueueName } from '../names.js';
import { formatDuration, parseDuration, type Duration } from '../util/duration.js';
import { FINAL_STATUSES, type AuditEntry, type RunRecord, type Store } from '../store/port.js';
import { MemoryStore } from '../store/memory-store.js';
import { MemoryTransport } from '../broker/memory-transport.js';
import type { Transport } from '../broker/transport.js';
import type { JobDefinition, JobHandler } from '../define/types.js';
import type { WorkerQueue } from '../worker/index.js';
import { Handlers, asOptionError } from '../worker/handlers.js';
import { Activity } from './activity.js';
import { DeadLetterLog } from './dead-letters.js';
import { HandlerWrapper } from './handler-wrapper.js';
import { spawnScheduler, spawnWorker, type SchedulerProcess, type WorkerProcess } from './components.js';
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
} from '../scheduler/control-types.js';
import { resolveHarnessOptions, type ResolvedHarnessOptions } from './harness-options.js';
import { ProcessSandbox } from './process-sandbox.js';
import { toHarnessRun } from './run-view.js';
import type { CrashOptions, DeadLetter, DowntimeOptions, HarnessRun, TestHarnessOptions, WaitForOptions } from './types.js';

/** Macrotask turns a driven call may sit with no timer armed before it is declared stuck. */
const IDLE_TURNS = 2_000;
/** Timer steps one `advance` may take before it is declared a runaway loop. */
const MAX_STEPS = 5_000_000;
const USURPER = 'warren-harness-usurper';

interface Slot<P> {
  sandbox: ProcessSandbox;
  proc: P;
}

// Captured at import, like the clock's: a test's own fake timers must not stall the harness.
const realSetTimeout = globalThis.setTimeout;

function toMs(value: Date | string | number): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw new WarrenError('ERR_INVALID_ARGUMENT', `Invalid date: ${String(value)}`, { field: 'date' });
  return ms;
}

/**
 * The fake-clock harness: the real scheduler and worker code over the in-memory store and
 * broker, driven by a FakeClock it moves timer by timer. See docs/testing.md.
 */
export class TestHarness implements Control, AsyncDisposable {
  /** The harness's clock (a FakeClock unless another clock was given). */
  readonly clock: Clock;
  /** The shared store: what every simulated process reads and writes. */
  readonly store: Store;
  /** The shared broker. */
  readonly transport: Transport;
  readonly scope: string;

  readonly #options: ResolvedHarnessOptions;
  readonly #fake: FakeClock | null;
  readonly #activity = new Activity();
  readonly #ownsBackends: boolean;
  readonly #jobs: Array<{ definition: JobDefinition<any>; handler: JobHandler<any> }>;
  readonly #queues: WorkerQueue[];
  readonly #handlers: HandlerWrapper;
  readonly #deadLetterLog: DeadLetterLog;
  readonly #observedTransport: Transport;
  #schedulers: Array<Slot<SchedulerProcess>> = [];
  #workers: Array<Slot<WorkerProcess>> = [];
  #instances = 0;
  #started = false;
  #closed = false;

  constructor(options: TestHarnessOptions) {
    const o = resolveHarnessOptions(options);
    this.#options = o;
    this.scope = o.scope;
    this.#fake = o.clock === undefined ? new FakeClock(o.start) : o.clock instanceof FakeClock ? o.clock : null;
    this.clock = this.#fake ?? o.clock!;
    this.#ownsBackends = o.store === undefined && o.transport === undefined;
    this.store = o.store ?? new MemoryStore();
    this.transport = o.transport ?? new MemoryTransport({ clock: this.clock });
    this.#handlers = new HandlerWrapper(this.#activity);
    this.#deadLetterLog = new DeadLetterLog(this.transport, this.clock);
    this.#observedTransport = this.#deadLetterLog.observe(this.transport);
    const pairs = Array.isArray(o.handlers) ? o.handlers : [];
    const byId: Record<string, JobHandler<any>> = Array.isArray(o.handlers)
      ? Object.fromEntries(pairs.map((p) => [p.definition.id, p.handler]))
      : o.handlers;
    const entries = [...o.jobs, ...pairs.filter((p) => !o.jobs.some((j) => ('definition' in j ? j.definition : j).id === p.definition.id))];
    this.#jobs = entries.map((entry) => {
      const pair = 'definition' in entry ? entry : { definition: entry, handler: undefined };
      const handler = pair.handler ?? byId[pair.definition.id] ?? (() => undefined);
      return { definition: pair.definition, handler };
    });
    this.#queues = Object.entries(o.queues).map(([queue, entry]) =>
      typeof entry === 'function' ? { queue, handler: entry } : { ...entry, queue },
    );
    // Checked now (as each worker will), so a bad entry fails here rather than at start().
    const check = new Handlers({ scope: this.scope });
    for (const { queue, handler, ...rest } of this.#queues) {
      try {
        check.addQueue(queue, handler, rest);
      } catch (err) {
        throw asOptionError(err, 'harness', `queues.${queue}`);
      }
    }
    const known = new Set(this.#jobs.map((j) => j.definition.id));
    for (const id of Object.keys(byId)) {
      if (!known.has(id))
        throw new WarrenError('ERR_INVALID_OPTION', `Invalid harness option \`handlers.${id}\`: no job with id "${id}" in \`jobs\``, {
          field: `handlers.${id}`,
        });
    }
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────

  /** Starts the schedulers and the workers, and lets their start-up settle. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (let i = 0; i < this.#options.schedulers; i++) this.#schedulers.push(this.#newScheduler());
    for (let i = 0; i < this.#options.workers; i++) this.#workers.push(this.#newWorker());
    for (const s of this.#schedulers) await this.#drive(s.proc.start(), 'scheduler start');
    for (const w of this.#workers) await this.#drive(w.proc.start(), 'worker start');
    await this.#quiesce();
  }

  /** Closes workers (running handlers get the worker's grace), stops schedulers, then the backends it owns. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#workers) if (!w.sandbox.dead) await this.#drive(w.proc.close(), 'worker close').catch(() => {});
    for (const s of this.#schedulers) if (!s.sandbox.dead) await this.#drive(s.proc.stop(), 'scheduler stop').catch(() => {});
    for (const slot of [...this.#workers, ...this.#schedulers]) {
      await slot.sandbox.kill();
      slot.sandbox.detach(this.transport);
    }
    if (this.#ownsBackends) {
      await this.transport.close();
      await this.store.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ── time ──────────────────────────────────────────────────────────────────

  /** The harness's current time. */
  now(): Date {
    return new Date(this.clock.now());
  }

  /**
   * Moves time forward by `duration` (a string like '90m' or a number of seconds), timer
   * by timer: each timer fires at its own instant and what it sets off (claims,
   * publishes, deliveries, handlers, completions) plays out before time moves on.
   */
  async advance(duration: Duration): Promise<void> {
    await this.advanceTo(this.clock.now() + parseDuration(duration, 'duration', 'ERR_INVALID_ARGUMENT'));
  }

  /** Moves time forward to `date` (never backwards). */
  async advanceTo(date: Date | string | number): Promise<void> {
    const target = toMs(date);
    const fake = this.#fake;
    if (fake === null) {
      await realSleep(target - this.clock.now());
      return;
    }
    await this.#quiesce();
    for (let steps = 0; fake.fireNext(target); steps++) {
      if (steps > MAX_STEPS)
        throw new WarrenError(
          'ERR_TIMEOUT',
          `advance: more than ${MAX_STEPS} timer steps before ${new Date(target).toISOString()}; a component keeps re-arming a timer at the same instant`,
        );
      await this.#activity.quiesce();
    }
    if (target > fake.now()) await fake.advanceTo(target);
    await this.#quiesce();
  }

  /**
   * Advances until no run is running or waiting to start: runs available now, and retries
   * (even when their backoff lies ahead). First attempts that are due later (a queue-mode
   * chain's next link, a delayed runNow) do not count. Fails with ERR_TIMEOUT after
   * `timeout` of fake time.
   */
  async runUntilIdle(options: WaitForOptions = {}): Promise<void> {
    await this.waitFor(async () => {
      const now = this.clock.now();
      const runs = await this.store.listRuns(this.scope, { status: ['pending', 'running'], limit: 1_000_000 });
      return !runs.some((r) => r.status === 'running' || r.attempt > 1 || r.availableAt.getTime() <= now);
    }, options);
  }

  /**
   * Advances time (timer by timer) until the run with this id is final, or until the
   * predicate returns something truthy, which is returned. ERR_TIMEOUT after `timeout`.
   */
  async waitFor(runId: string, options?: WaitForOptions): Promise<HarnessRun>;
  async waitFor<T>(predicate: (harness: this) => T | Promise<T>, options?: WaitForOptions): Promise<NonNullable<T>>;
  async waitFor(target: string | ((harness: this) => unknown), options: WaitForOptions = {}): Promise<unknown> {
    const timeoutMs = parseDuration(options.timeout ?? '1d', 'timeout', 'ERR_INVALID_ARGUMENT');
    const check =
      typeof target === 'string'
        ? async () => {
            const run = await this.run(target);
            return run && FINAL_STATUSES.includes(run.status) ? run : undefined;
          }
        : async () => target(this);
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      await this.#quiesce();
      const value = await check();
      if (value) return value;
      const now = this.clock.now();
      if (now >= deadline) {
        const what = typeof target === 'string' ? `run ${target} to finish` : 'the condition';
        throw new WarrenError('ERR_TIMEOUT', `waitFor: ${what} did not hold within ${formatDuration(timeoutMs)}`);
      }
      if (this.#fake) {
        if (this.#fake.fireNext(deadline)) await this.#activity.quiesce();
        else await this.advanceTo(deadline);
      } else {
        await realSleep(Math.min(25, deadline - now));
      }
    }
  }

  // ── inspection ────────────────────────────────────────────────────────────

  /** Every run of the scope (or of one job), oldest slot first, with attempt history. */
  async history(jobId?: string): Promise<HarnessRun[]> {
    const records = await this.store.listRuns(this.scope, { ...(jobId === undefined ? {} : { jobId }), limit: 1_000_000 });
    return records.sort(byTime).map(toHarnessRun);
  }

  /** One run by id. */
  async run(runId: string): Promise<HarnessRun | undefined> {
    const record = await this.store.getRun(runId);
    return record ? toHarnessRun(record) : undefined;
  }

  /** Messages in the jobs' dead-letter queues (poison messages, exhausted retries), oldest first. */
  deadLetters(jobId?: string): DeadLetter[] {
    const queues = [
      ...this.#jobs.map((j) => workQueueName(j.definition.scope ?? this.scope, j.definition.config.queue)),
      ...this.#queues.map((q) => workQueueName(this.scope, q.queue)),
    ];
    return this.#deadLetterLog.list(queues, jobId);
  }

  /** Index of the scheduler that leads now, or -1. */
  leader(): number {
    return this.#schedulers.findIndex((s) => !s.sandbox.dead && s.proc.isLeader());
  }

  /** The running scheduler and worker instances (for assertions on ids). */
  instances(): {
    schedulers: Array<{ instanceId: string; alive: boolean; leader: boolean }>;
    workers: Array<{ workerId: string; alive: boolean }>;
  } {
    return {
      schedulers: this.#schedulers.map((s) => ({
        instanceId: s.proc.instanceId,
        alive: !s.sandbox.dead,
        leader: !s.sandbox.dead && s.proc.isLeader(),
      })),
      workers: this.#workers.map((w) => ({ workerId: w.proc.workerId, alive: !w.sandbox.dead })),
    };
  }

  // ── faults ────────────────────────────────────────────────────────────────

  /**
   * Makes the next attempt(s) of a job fail before its handler runs: `failNext(id)` or
   * `failNext(id, 3)` throws a plain Error 1 or 3 times; `failNext(id, error)` throws that
   * error (e.g. a NonRetryableError) once; `failNext(id, error, 2)` twice.
   */
  failNext(jobId: string, errorOrCount: unknown = 1, count?: number): void {
    // With queue handlers any id may be a store-only job routed to them.
    if (this.#queues.length === 0 && !this.#jobs.some((j) => j.definition.id === jobId))
      throw new WarrenError('ERR_JOB_NOT_FOUND', `failNext: no job "${jobId}" in this harness`, { field: 'jobId' });
    this.#handlers.failNext(jobId, errorOrCount, count);
  }

  /**
   * No scheduler is up for `duration`: every scheduler stops (gracefully), time passes,
   * then fresh scheduler instances start and the jobs' catch-up policies apply.
   * With `{ workers: true }` the workers are down for the same time.
   */
  async simulateDowntime(duration: Duration, options: DowntimeOptions = {}): Promise<void> {
    const ms = parseDuration(duration, 'duration', 'ERR_INVALID_ARGUMENT');
    const schedulers = this.#schedulers.length;
    const workers = this.#workers.length;
    for (const s of this.#schedulers) if (!s.sandbox.dead) await this.#drive(s.proc.stop(), 'scheduler stop');
    if (options.workers) for (const w of this.#workers) if (!w.sandbox.dead) await this.#drive(w.proc.close(), 'worker close');
    for (const slot of [...this.#schedulers, ...(options.workers ? this.#workers : [])]) {
      await slot.sandbox.kill();
      slot.sandbox.detach(this.transport);
    }
    await this.advance(`${ms}ms`);
    this.#schedulers = Array.from({ length: schedulers }, () => this.#newScheduler());
    if (options.workers) this.#workers = Array.from({ length: workers }, () => this.#newWorker());
    for (const s of this.#schedulers) await this.#drive(s.proc.start(), 'scheduler start');
    if (options.workers) for (const w of this.#workers) await this.#drive(w.proc.start(), 'worker start');
    await this.#quiesce();
  }

  /**
   * Kills a worker the way a crash does (default: worker 0): its handlers' results are
   * lost, it stops heart-beating, and its running runs are left to lease expiry, when the
   * leader retries or fails them. By default a fresh worker takes its place at once.
   * Returns the ids of the runs it was running.
   */
  async crashWorker(index = 0, options: CrashOptions = {}): Promise<string[]> {
    const slot = this.#workers[index];
    if (!slot || slot.sandbox.dead)
      throw new WarrenError('ERR_INVALID_ARGUMENT', `crashWorker: no live worker at index ${index}`, { field: 'index' });
    const running = await this.store.listRuns(this.scope, { status: 'running', limit: 1_000_000 });
    await slot.sandbox.kill();
    slot.sandbox.detach(this.transport);
    if (options.restart ?? true) {
      const fresh = this.#newWorker();
      this.#workers[index] = fresh;
      await this.#drive(fresh.proc.start(), 'worker start');
    }
    await this.#quiesce();
    return running.filter((r) => r.workerId === slot.proc.workerId).map((r) => r.runId);
  }

  /**
   * Kills a scheduler instance the way a crash does (default: the leader): its lease is
   * not released, so another instance leads only once it expires. By default a fresh
   * instance takes its place at once.
   */
  async crashScheduler(index?: number, options: CrashOptions = {}): Promise<void> {
    const at = index ?? Math.max(0, this.leader());
    const slot = this.#schedulers[at];
    if (!slot || slot.sandbox.dead)
      throw new WarrenError('ERR_INVALID_ARGUMENT', `crashScheduler: no live scheduler at index ${at}`, { field: 'index' });
    await slot.sandbox.kill();
    slot.sandbox.detach(this.transport);
    if (options.restart ?? true) {
      const fresh = this.#newScheduler();
      this.#schedulers[at] = fresh;
      await this.#drive(fresh.proc.start(), 'scheduler start');
    }
    await this.#quiesce();
  }

  /**
   * The leader loses its lease under it (as when it was paused past its TTL and another
   * instance took over): the lease is taken from it in the store, time moves until the
   * ex-leader has noticed (its fenced tick or renewal fails), then the lease is freed so
   * any instance, the old leader included, may lead again. Returns the ex-leader's index.
   */
  async loseLeadership(options: WaitForOptions = {}): Promise<number> {
    const index = this.leader();
    if (index < 0) throw new WarrenError('ERR_NOT_LEADER', 'loseLeadership: no scheduler leads now');
    const now = new Date(this.clock.now());
    const state = await this.store.getLeadership(this.scope, now);
    if (state.holder) await this.store.releaseLeadership(this.scope, state.holder);
    await this.store.acquireLeadership(this.scope, USURPER, Math.max(this.#options.leaseTtl, 3_600_000), now);
    try {
      await this.waitFor(() => !this.#schedulers[index]!.proc.isLeader(), { timeout: options.timeout ?? '1h' });
    } finally {
      await this.store.releaseLeadership(this.scope, USURPER);
      await this.#quiesce();
    }
    return index;
  }

  // ── control API (on a live scheduler instance, as from any service) ───────

  list(): Promise<JobStatus[]> {
    return this.#control('list', (api) => api.list());
  }

  get(id: string): Promise<JobDetails> {
    return this.#control('get', (api) => api.get(id));
  }

  upsert(body: unknown, options?: ActorOption): Promise<JobDetails> {
    return this.#control('upsert', (api) => api.upsert(body, options));
  }

  update(id: string, patch: unknown, options?: ActorOption): Promise<JobDetails> {
    return this.#control('update', (api) => api.update(id, patch, options));
  }

  remove(id: string, options?: ActorOption): Promise<void> {
    return this.#control('remove', (api) => api.remove(id, options));
  }

  pause(id: string, options?: PauseOptions): Promise<JobDetails> {
    return this.#control('pause', (api) => api.pause(id, options));
  }

  resume(id: string, options?: ActorOption): Promise<JobDetails> {
    return this.#control('resume', (api) => api.resume(id, options));
  }

  runNow(id: string, options?: RunNowOptions): Promise<RunRecord> {
    return this.#control('runNow', (api) => api.runNow(id, options));
  }

  /** The control API's run history (newest first, limited); `history()` has every run with its attempts. */
  runs(id: string, options?: RunsOptions): Promise<RunRecord[]> {
    return this.#control('runs', (api) => api.runs(id, options));
  }

  backfill(id: string, options: BackfillOptions): Promise<BackfillResult> {
    return this.#control('backfill', (api) => api.backfill(id, options));
  }

  /** The audit trail of control actions, newest first (as the control API answers it). */
  audit(options?: AuditOptions): Promise<AuditEntry[]> {
    return this.#control('audit', (api) => api.audit(options));
  }

  // ── internals ─────────────────────────────────────────────────────────────

  /** A control call on a live scheduler instance, as from any service, driven until it settles. */
  async #control<T>(method: keyof Control, call: (api: Control) => Promise<T>): Promise<T> {
    const slot = this.#schedulers.find((s) => !s.sandbox.dead);
    if (!slot) throw new WarrenError('ERR_CLOSED', `${method}: no scheduler instance is running (started? closed?)`);
    const result = await this.#drive(call(slot.proc.api), method);
    await this.#quiesce();
    return result;
  }

  #newScheduler(): Slot<SchedulerProcess> {
    const n = ++this.#instances;
    const sandbox = new ProcessSandbox(`scheduler-${n}`, this.#backends(), this.#activity);
    const proc = spawnScheduler(sandbox, {
      scope: this.scope,
      instanceId: `${this.scope}-scheduler-${n}`,
      jobs: this.#jobs.map((j) => j.definition),
      leaseTtl: `${this.#options.leaseTtl}ms`,
      extra: this.#options.schedulerOptions,
    });
    return { sandbox, proc };
  }

  #newWorker(): Slot<WorkerProcess> {
    const n = ++this.#instances;
    const sandbox = new ProcessSandbox(`worker-${n}`, this.#backends(), this.#activity);
    const jobs = this.#jobs.map(({ definition, handler }) => ({ definition, handler: this.#handlers.wrap(handler, sandbox) }));
    const queues = this.#queues.map((q) => ({ ...q, handler: this.#handlers.wrap(q.handler, sandbox) }));
    const proc = spawnWorker(sandbox, {
      scope: this.scope,
      workerId: `${this.scope}-worker-${n}`,
      jobs,
      queues,
      extra: this.#options.workerOptions,
    });
    return { sandbox, proc };
  }

  #backends(): { clock: Clock; store: Store; transport: Transport } {
    return { clock: this.clock, store: this.store, transport: this.#observedTransport };
  }

  async #quiesce(): Promise<void> {
    const fake = this.#fake;
    if (fake) {
      await this.#activity.quiesce();
      while (fake.fireNext(fake.now())) await this.#activity.quiesce();
    } else {
      await settle(2);
    }
  }

  /**
   * Awaits a component call that may itself wait on the clock (a graceful close waiting
   * for a handler, a start retrying): fake time is moved timer by timer until it settles.
   */
  async #drive<T>(promise: Promise<T>, what: string): Promise<T> {
    const fake = this.#fake;
    if (fake === null) return promise;
    let done = false;
    const tracked = promise.finally(() => {
      done = true;
    });
    tracked.catch(() => {});
    let idleTurns = 0;
    for (let steps = 0; !done; steps++) {
      await this.#activity.quiesce();
      if (done) break;
      if (fake.fireNext(Number.POSITIVE_INFINITY)) continue;
      // No timer armed: only real I/O could move it on (none in memory); give up after a while.
      if (++idleTurns > IDLE_TURNS) throw new WarrenError('ERR_TIMEOUT', `${what} did not finish and no timer is armed to move it on`);
      await settle(5);
      if (steps > MAX_STEPS) throw new WarrenError('ERR_TIMEOUT', `${what} did not finish within ${MAX_STEPS} timer steps`);
    }
    return tracked;
  }
}

function byTime(a: RunRecord, b: RunRecord): number {
  return (
    a.scheduledFor.getTime() - b.scheduledFor.getTime() || a.createdAt.getTime() - b.createdAt.getTime() || a.runId.localeCompare(b.runId)
  );
}

/** Waits in real time without the (possibly faked) global timers. */
function realSleep(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

/**
 * Builds a harness (not started: call `start()`, or use `await using`-style `start` then
 * `close`). See {@link TestHarness}.
 */
export function createTestHarness(options: TestHarnessOptions): TestHarness {
  return new TestHarness(options);
}
