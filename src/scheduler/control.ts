/**
 * The control API, on every instance (leader or not): it writes to the store, records an
 * audit entry, and NOTIFYs, so the leader (wherever it runs) re-plans at once. Nothing
 * here needs leadership: slot claims are fenced, everything else is idempotent through
 * deterministic run ids or is a single-row update.
 */
import createDebug from 'debug';
import type { Clock } from '../clock.js';
import { WarrenError, describeValue, isWarrenError } from '../errors.js';
import { slotsBetween } from '../define/schedule.js';
import { resolveConfig } from '../define/time-zone.js';
import { parseConfigPatch, parseJobInput } from '../define/job-input.js';
import type { JobDefinition } from '../define/types.js';
import type { AuditAction, AuditEntry, JobRecord, RunRecord, RunSummary, Store } from '../store/port.js';
import {
  RUN_STATUSES,
  type ActorOption,
  type AuditOptions,
  type BackfillOptions,
  type BackfillResult,
  type Control,
  type JobDetails,
  type JobStatus,
  type PauseOptions,
  type RunNowOptions,
  type RunsOptions,
} from './control-types.js';
import { parseDuration } from '../util/duration.js';
import { randomUUID } from '../util/uuid.js';
import {
  backfillRuns,
  chainSeedSlot,
  claimedAheadReason,
  manualRun,
  resumeRetiming,
  updateRetiming,
  upsertRetiming,
} from './control-plan.js';
import type { RunPublisher } from './publisher.js';
import { chainSeed } from './tick.js';

const debug = createDebug('warren:scheduler');

/** Most slots one `backfill` call may create. */
export const MAX_BACKFILL_SLOTS = 1000;
/** How many recent runs a status line looks at to count failures. */
const RECENT_RUNS = 20;

export interface ControlDeps {
  store: Store;
  scope: string;
  clock: Clock;
  publisher: RunPublisher;
  definitions: ReadonlyMap<string, JobDefinition<unknown>>;
  /** The zone of a cron written without `tz` (the scheduler's `timezone`), stored on the job. */
  timezone: string;
  /** Throws when the instance may not serve control calls (role, stopped). */
  guard(): void;
}

function argError(field: string, rule: string, value: unknown): WarrenError {
  return new WarrenError('ERR_INVALID_ARGUMENT', `Invalid \`${field}\`: expected ${rule}, got ${describeValue(value)}`, { field });
}

function notFound(scope: string, jobId: unknown): WarrenError {
  return new WarrenError('ERR_JOB_NOT_FOUND', `No job ${describeValue(jobId)} in scope "${scope}"`, {
    field: 'id',
    details: { scope, jobId },
  });
}

function toDate(value: unknown, field: string): Date {
  const date =
    value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw argError(field, 'a Date or an ISO-8601 timestamp', value);
  return date;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

export class ControlApi implements Control {
  readonly #d: ControlDeps;

  constructor(deps: ControlDeps) {
    this.#d = deps;
  }

  async list(): Promise<JobStatus[]> {
    this.#d.guard();
    const jobs = await this.#d.store.listJobs(this.#d.scope);
    return this.#statuses(jobs);
  }

  async get(id: string): Promise<JobDetails> {
    this.#d.guard();
    const job = await this.#job(id);
    return { ...(await this.#status(job)), job };
  }

  /**
   * Create or replace a job from the seed's `POST /jobs` body or a JSON JobSpec. Every key
   * becomes overridden, so a later code sync leaves the job as written here.
   */
  async upsert(body: unknown, options: ActorOption = {}): Promise<JobDetails> {
    this.#d.guard();
    const { store, scope } = this.#d;
    const input = parseJobInput(body);
    if (input.scope !== undefined && input.scope !== scope) {
      throw new WarrenError(
        'ERR_INVALID_ARGUMENT',
        `Invalid \`scope\`: this scheduler steers scope "${scope}", the job names scope "${input.scope}"`,
        { field: 'scope', details: { expected: scope, got: input.scope } },
      );
    }
    const now = this.#now();
    const before = await store.getJob(scope, input.id);
    const config = resolveConfig(input.config, this.#d.timezone);
    const timing = upsertRetiming(before, config, now);
    let job = await store.upsertJob(scope, input.id, config, { now, nextDueAt: timing.nextDueAt });
    // A slot the leader claimed ahead under the replaced timing must not run.
    const aheadReason = before === null ? null : claimedAheadReason(before, config);
    if (aheadReason !== null) await store.cancelClaimedAhead(scope, input.id, now, aheadReason, now);
    // A replaced queue-mode timing must not leave the old chain running beside the new one.
    if (timing.bumpEpoch) job = await store.updateJob(scope, input.id, {}, { now, bumpEpoch: true });
    if (timing.seedChain) await this.#seedChain(job, now);
    await this.#record(input.id, before === null ? 'create' : 'upsert', options, { config });
    return { ...(await this.#status(job)), job };
  }

  /**
   * Patch settings at run time (period, cron, params, enabled, …). The changed keys are
   * remembered as overridden, so the change survives a restart of the code. A schedule
   * change takes effect at the new schedule's next slot; in queue mode it also bumps the
   * epoch, so the old chain dies, and seeds the new one.
   */
  async update(id: string, patch: unknown, options: ActorOption = {}): Promise<JobDetails> {
    this.#d.guard();
    const { store, scope } = this.#d;
    const current = await this.#job(id);
    const changes = resolveConfig(parseConfigPatch(patch, current), this.#d.timezone);
    const now = this.#now();
    const { seedChain, ...timing } = updateRetiming(current, changes, now);
    let job = await store.updateJob(scope, id, changes, { now, ...timing });
    // A slot the leader claimed ahead under the old settings must not run (before a new chain is seeded).
    const aheadReason = claimedAheadReason(current, { ...current, ...changes });
    if (aheadReason !== null) await store.cancelClaimedAhead(scope, id, now, aheadReason, now);
    if (seedChain) await this.#seedChain(job, now);
    job = (await store.getJob(scope, id)) ?? job;
    await this.#record(id, 'update', options, { patch: patch as Record<string, unknown>, keys: Object.keys(changes) });
    return { ...(await this.#status(job)), job };
  }

  async remove(id: string, options: ActorOption = {}): Promise<void> {
    this.#d.guard();
    if (!(await this.#d.store.removeJob(this.#d.scope, this.#checkId(id), this.#now()))) throw notFound(this.#d.scope, id);
    await this.#record(id, 'remove', options, {});
  }

  /** Stops new runs (a queue-mode chain too: the epoch bump makes its next link a no-op). */
  async pause(id: string, options: PauseOptions = {}): Promise<JobDetails> {
    this.#d.guard();
    const note = options.note ?? null;
    if (note !== null && typeof note !== 'string') throw argError('note', 'a string', note);
    const job = await this.#d.store
      .setEnabled(this.#d.scope, this.#checkId(id), false, { now: this.#now(), note })
      .catch((error: unknown) => {
        // The same not-found error as every other method (the store's names its own argument).
        throw isWarrenError(error, 'ERR_JOB_NOT_FOUND') ? notFound(this.#d.scope, id) : error;
      });
    // A slot the leader already claimed ahead (due within its look-ahead) is recorded, not run.
    const now = this.#now();
    await this.#d.store.cancelClaimedAhead(this.#d.scope, id, now, 'job paused before its slot', now);
    await this.#record(id, 'pause', options, { note });
    return { ...(await this.#status(job)), job };
  }

  /**
   * Restarts at the next slot after now. A queue-mode job gets one fresh chain run: at the
   * next cron slot, or at once for `every` (fixed delay).
   */
  async resume(id: string, options: ActorOption = {}): Promise<JobDetails> {
    this.#d.guard();
    const { store, scope } = this.#d;
    const current = await this.#job(id);
    const now = this.#now();
    const { nextDueAt, chainAt } = resumeRetiming(current, now);
    let job = await store.setEnabled(scope, id, true, { now, nextDueAt });
    if (chainAt !== null) {
      await this.#seedChain(job, now, chainAt);
      job = (await store.getJob(scope, id)) ?? job;
    }
    await this.#record(id, 'resume', options, {});
    return { ...(await this.#status(job)), job };
  }

  /** One run now (or after `delay`), even while paused; trigger_source `manual`. */
  async runNow(id: string, options: RunNowOptions = {}): Promise<RunRecord> {
    this.#d.guard();
    const { store, scope } = this.#d;
    const job = await this.#job(id);
    if (options.params !== undefined && !isPlainObject(options.params)) throw argError('params', 'a JSON object', options.params);
    let params: Record<string, unknown> = { ...job.params, ...(options.params ?? {}) };
    const definition = this.#d.definitions.get(id);
    if (definition) params = definition.parseParams(params) as Record<string, unknown>;
    else assertJson(params, 'params');
    const delayMs = options.delay === undefined ? 0 : parseDuration(options.delay, 'delay', 'ERR_INVALID_ARGUMENT');
    const now = this.#now();
    const run = manualRun(job, { runId: randomUUID(), params, delayMs, now });
    const [inserted] = await store.insertRuns(scope, [run], now);
    if (inserted === undefined) throw new WarrenError('ERR_CONFLICT', `Could not record a manual run of "${id}"`, { field: 'id' });
    const published = await this.#publish([inserted], now);
    await this.#record(id, 'run-now', options, { runId: inserted.runId, params, delayMs });
    // The run as created, not re-read: a worker may already have claimed it, and the answer
    // should not depend on that race. Its later state: runs(id) or the store.
    return { ...inserted, publishedAt: published.includes(inserted.runId) ? now : inserted.publishedAt };
  }

  async runs(id: string, options: RunsOptions = {}): Promise<RunRecord[]> {
    this.#d.guard();
    await this.#job(id);
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw argError('limit', 'an integer in 1..10000', limit);
    const statuses = options.status === undefined ? [] : Array.isArray(options.status) ? options.status : [options.status];
    const bad = statuses.find((status) => !RUN_STATUSES.includes(status));
    if (bad !== undefined) throw argError('status', `one of ${RUN_STATUSES.join(', ')}`, bad);
    return this.#d.store.listRuns(this.#d.scope, { jobId: id, limit, ...(options.status ? { status: options.status } : {}) });
  }

  /**
   * Runs for the schedule's slots in [from, to], with the slots' deterministic ids, so a
   * second identical call (or a slot that already ran) creates nothing.
   */
  async backfill(id: string, options: BackfillOptions): Promise<BackfillResult> {
    this.#d.guard();
    const { store, scope } = this.#d;
    const job = await this.#job(id);
    if (!isPlainObject(options)) throw argError('options', '{ from, to }', options);
    const from = toDate(options.from, 'from');
    const to = toDate(options.to, 'to');
    const now = this.#now();
    if (to.getTime() < from.getTime()) throw argError('to', `a time at or after \`from\` (${from.toISOString()})`, options.to);
    if (to.getTime() > now.getTime()) throw argError('to', `a time not in the future (now is ${now.toISOString()})`, options.to);
    if (job.schedule === null) throw new WarrenError('ERR_INVALID_ARGUMENT', `Job "${id}" has no schedule to backfill`, { field: 'id' });
    const slots = slotsBetween(job.schedule, new Date(from.getTime() - 1), to, MAX_BACKFILL_SLOTS + 1);
    if (slots.length > MAX_BACKFILL_SLOTS) {
      throw new WarrenError(
        'ERR_INVALID_ARGUMENT',
        `Invalid \`to\`: [from, to] holds more than ${MAX_BACKFILL_SLOTS} slots of "${id}"; backfill a shorter range`,
        { field: 'to', details: { max: MAX_BACKFILL_SLOTS } },
      );
    }
    const runs = backfillRuns(job, slots, now);
    const inserted = runs.length > 0 ? await store.insertRuns(scope, runs, now) : [];
    await this.#publish(inserted, now);
    await this.#record(id, 'backfill', options, {
      from: from.toISOString(),
      to: to.toISOString(),
      slots: slots.length,
      inserted: inserted.length,
    });
    return { slots: slots.length, inserted };
  }

  async audit(options: AuditOptions = {}): Promise<AuditEntry[]> {
    this.#d.guard();
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw argError('limit', 'an integer in 1..10000', limit);
    return this.#d.store.listAudit(this.#d.scope, { limit, ...(options.jobId !== undefined ? { jobId: options.jobId } : {}) });
  }

  // ── helpers ──────────────────────────────────────────────────────────────

  #now(): Date {
    return new Date(this.#d.clock.now());
  }

  #checkId(id: unknown): string {
    if (typeof id !== 'string' || id.length === 0) throw argError('id', 'a job id', id);
    return id;
  }

  async #job(id: unknown): Promise<JobRecord> {
    const jobId = this.#checkId(id);
    const job = await this.#d.store.getJob(this.#d.scope, jobId);
    if (job === null) throw notFound(this.#d.scope, id);
    return job;
  }

  async #status(job: JobRecord): Promise<JobStatus> {
    return (await this.#statuses([job]))[0]!;
  }

  /** Status lines of many jobs: one store query for all their counts, whatever their number. */
  async #statuses(jobs: JobRecord[]): Promise<JobStatus[]> {
    const { store, scope } = this.#d;
    const summaries = await store.runSummaries(
      scope,
      jobs.map((job) => job.jobId),
      this.#now(),
      RECENT_RUNS,
    );
    return jobs.map((job) => statusLine(job, summaries.get(job.jobId) ?? { running: 0, recentFailures: 0 }));
  }

  /** Seeds a queue-mode chain of the job's current epoch: at `at`, or at its next slot. */
  async #seedChain(job: JobRecord, now: Date, at?: Date): Promise<void> {
    if (!job.enabled || job.reschedule !== 'queue' || job.schedule === null) return;
    const slot = chainSeedSlot(job.schedule, job.nextDueAt, now, at);
    const seed = chainSeed(job, slot, now);
    const inserted = await this.#d.store.insertRuns(this.#d.scope, [seed], now);
    // The chain's next_due_at is the pending link's slot, so brokenChains sees it as alive.
    if (job.nextDueAt?.getTime() !== slot.getTime()) await this.#d.store.setNextDue(this.#d.scope, job.jobId, job.nextDueAt, slot);
    await this.#publish(inserted, now);
  }

  /** Publishes the triggers of runs a control action created; returns the ids published. */
  async #publish(runs: RunRecord[], now: Date): Promise<string[]> {
    if (runs.length === 0 || !this.#d.publisher.enabled) return [];
    // A failed publish is not an error of the call (broker down, ERR_TIMEOUT, transport closed
    // by close()): the run is recorded and the leader's outbox publishes it.
    try {
      const { published, failed } = await this.#d.publisher.publish(
        runs,
        (jobId) => this.#d.store.getJob(this.#d.scope, jobId),
        now.getTime(),
      );
      if (failed.length > 0)
        debug(
          '%d control-action triggers left to the outbox: %s',
          failed.length,
          String((failed[0]!.error as Error)?.message ?? failed[0]!.error),
        );
      return published.map((run) => run.runId);
    } catch (error) {
      debug('control-action publish failed, left to the outbox: %s', (error as Error)?.message ?? error);
      return [];
    }
  }

  async #record(jobId: string, action: AuditAction, options: ActorOption, details: Record<string, unknown>): Promise<void> {
    const { store, scope } = this.#d;
    await store.appendAudit(scope, { jobId, action, actor: options.actor ?? null, details: jsonSafe(details), at: this.#now() });
    await store.notifyJobChange(scope, jobId).catch(() => {});
  }
}

function statusLine(job: JobRecord, counts: RunSummary): JobStatus {
  return {
    id: job.jobId,
    queue: job.queue,
    schedule: job.schedule,
    reschedule: job.reschedule,
    enabled: job.enabled,
    paused: !job.enabled,
    pauseNote: job.pauseNote,
    nextDueAt: job.nextDueAt,
    lastRunAt: job.lastRunAt,
    lastStatus: job.lastStatus,
    running: counts.running,
    recentFailures: counts.recentFailures,
    overridden: [...job.overridden],
    description: job.description,
  };
}

function assertJson(value: Record<string, unknown>, field: string): void {
  try {
    const text = JSON.stringify(value);
    if (text === undefined || !isPlainObject(JSON.parse(text))) throw new Error('not an object');
  } catch (error) {
    if (isWarrenError(error)) throw error;
    throw argError(field, 'a JSON object', value);
  }
}

function jsonSafe(value: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(value, (_k, v) => (v instanceof Date ? v.toISOString() : v))) as Record<string, unknown>;
  } catch {
    return {};
  }
}
