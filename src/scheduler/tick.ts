/**
 * The leader's loop. It sleeps until the earliest `next_due_at` (on the Clock), wakes early
 * when a job changes (NOTIFY from a control action on any instance), and keeps a safety
 * tick for what has no due time of its own (the outbox, expired leases, broken chains).
 * Each tick: (a) republish runs left unpublished by a crash, (b) claim the due slots of all
 * jobs in one fenced transaction and publish the inserted runs, reseed broken queue-mode
 * chains in the same transaction, (c) reap runs whose worker vanished.
 */
import createDebug from 'debug';
import type { Clock, Timer } from '../clock.js';
import { isWarrenError } from '../errors.js';
import { staleAtFor } from '../define/schedule.js';
import type { Fence, JobRecord, NewRun, RunRecord, SlotClaim, Store } from '../store/port.js';
import { slotRunId } from '../util/uuid.js';
import { planSlots } from './plan.js';
import type { RunPublisher } from './publisher.js';
import { reapExpiredLeases, type ReapedRun } from './reaper.js';

const debug = createDebug('warren:scheduler');

export interface TickSummary {
  at: Date;
  /** Outbox runs republished. */
  republished: number;
  /** Jobs whose due slots were claimed. */
  claimedJobs: number;
  /** Run rows inserted by the claim, by status. */
  inserted: { pending: number; missed: number; skipped: number };
  /** Runs published (slots, reseeds, retries). */
  published: number;
  /** Queue-mode chains reseeded. */
  reseeded: number;
  /** Expired leases handled. */
  reaped: number;
}

export interface TickerOptions {
  store: Store;
  publisher: RunPublisher;
  scope: string;
  clock: Clock;
  safetyTickMs: number;
  outboxGraceMs: number;
  maxSlotsPerTick: number;
  fence(): Fence | null;
  onNotLeader(reason: string): void;
  onTick(summary: TickSummary): void;
  onPublished(run: RunRecord): void;
  onReaped(reaped: ReapedRun): void;
  onError(error: unknown): void;
}

export class Ticker {
  readonly #o: TickerOptions;
  #running = false;
  #timer: Timer | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #inFlight: Promise<void> | null = null;
  #again = false;
  #failures = 0;
  /** A follow-up wake after a control action, for runs it left to the outbox. */
  #followUpAt = Number.POSITIVE_INFINITY;

  constructor(options: TickerOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#failures = 0;
    this.#armAt(this.#o.clock.now(), true);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    await this.#inFlight?.catch(() => {});
  }

  /** A job changed: tick now, and once more when the outbox grace of its new runs has passed. */
  wake(): void {
    if (!this.#running) return;
    const now = this.#o.clock.now();
    this.#followUpAt = Math.min(this.#followUpAt, now + this.#o.outboxGraceMs + 50);
    if (this.#inFlight) this.#again = true;
    else this.#armAt(now, false);
  }

  #armAt(at: number, replace: boolean): void {
    if (!this.#running) return;
    if (!replace && this.#timer !== null && this.#timerAt <= at) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = this.#o.clock.setTimer(() => {
      this.#timer = null;
      this.#timerAt = Number.POSITIVE_INFINITY;
      void this.#run();
    }, Math.max(0, at - this.#o.clock.now()));
  }

  async #run(): Promise<void> {
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    this.#again = false;
    let next: number | null = null;
    const run = this.#tick()
      .then((at) => {
        next = at;
      })
      .finally(() => {
        this.#inFlight = null;
      });
    this.#inFlight = run;
    await run;
    if (!this.#running) return;
    const now = this.#o.clock.now();
    if (this.#again) this.#armAt(now, true);
    else if (next !== null) this.#armAt(next, true);
  }

  /** One tick; returns when to tick next, or null when leadership is gone. */
  async #tick(): Promise<number | null> {
    const o = this.#o;
    const fence = o.fence();
    if (fence === null) return null;
    const nowMs = o.clock.now();
    const now = new Date(nowMs);
    const limit = o.maxSlotsPerTick;
    const cache = new Map<string, Promise<JobRecord | null>>();
    const jobOf = (jobId: string): Promise<JobRecord | null> => {
      let job = cache.get(jobId);
      if (!job) cache.set(jobId, (job = o.store.getJob(o.scope, jobId)));
      return job;
    };
    const summary: TickSummary = { at: now, republished: 0, claimedJobs: 0, inserted: { pending: 0, missed: 0, skipped: 0 }, published: 0, reseeded: 0, reaped: 0 };
    let more = false;
    try {
      // (a) outbox: runs a crash (or a control-only instance) left unpublished.
      if (o.publisher.enabled) {
        const unpublished = await o.store.unpublishedRuns(o.scope, new Date(nowMs - o.outboxGraceMs), limit);
        if (unpublished.length > 0) {
          const { published } = await o.publisher.publish(unpublished, jobOf, nowMs);
          summary.republished = published.length;
          summary.published += published.length;
          published.forEach((run) => o.onPublished(run));
          more ||= unpublished.length >= limit;
        }
      }

      // (b) due slots of scheduler-mode jobs, and reseeds of broken queue-mode chains.
      const claims: SlotClaim[] = [];
      const due = await o.store.dueJobs(o.scope, now, limit);
      more ||= due.length >= limit;
      for (const job of due) {
        cache.set(job.jobId, Promise.resolve(job));
        // Queue mode is chained by the workers; the leader only reseeds a broken chain.
        if (job.reschedule === 'queue') continue;
        const running = await o.store.countRunning(o.scope, job.jobId, now);
        const pending = job.overlap === 'bufferOne' && running >= job.maxParallel ? (await o.store.listRuns(o.scope, { jobId: job.jobId, status: 'pending', limit: 1 })).length : 0;
        const plan = planSlots(job, now, { running, pending }, limit);
        if (plan === null) continue;
        claims.push(plan.claim);
        more ||= plan.more;
      }
      // `next_due_at < before` in the port: +1 ms makes a chain due exactly now count as overdue.
      const broken = await o.store.brokenChains(o.scope, new Date(nowMs + 1), limit);
      for (const job of broken) {
        if (job.nextDueAt === null || job.reschedule !== 'queue') continue;
        cache.set(job.jobId, Promise.resolve(job));
        // The overdue slot's own row may exist already (a link cancelled by an epoch bump,
        // or expired): then the chain restarts at `now`, and the CAS moves next_due_at there.
        const taken = (await o.store.getRun(slotRunId(o.scope, job.jobId, job.nextDueAt))) !== null;
        const slot = taken ? now : job.nextDueAt;
        claims.push({ jobId: job.jobId, expectedNextDueAt: job.nextDueAt, nextDueAt: slot, runs: [chainSeed(job, slot, now)] });
        summary.reseeded += 1;
      }
      if (claims.length > 0) {
        const result = await o.store.claimSlots(o.scope, fence, claims, now);
        summary.claimedJobs = result.claimed.length;
        if (result.conflicts.length > 0) debug('claim conflicts in %s: %o', o.scope, result.conflicts);
        for (const run of result.inserted) {
          if (run.status === 'pending') summary.inserted.pending += 1;
          else if (run.status === 'missed') summary.inserted.missed += 1;
          else if (run.status === 'skipped') summary.inserted.skipped += 1;
        }
        const pendingRuns = result.inserted.filter((run) => run.status === 'pending');
        if (pendingRuns.length > 0) {
          const { published, failed } = await o.publisher.publish(pendingRuns, jobOf, nowMs);
          summary.published += published.length;
          published.forEach((run) => o.onPublished(run));
          if (failed.length > 0) debug('%d triggers left to the outbox: %s', failed.length, String((failed[0]!.error as Error)?.message ?? failed[0]!.error));
        }
      }

      // (c) reaper: runs whose worker vanished.
      const reaped = await reapExpiredLeases(o.store, o.scope, now, limit, jobOf);
      summary.reaped = reaped.reaped.length;
      reaped.reaped.forEach((r) => o.onReaped(r));
      more ||= reaped.full;
      if (reaped.toPublish.length > 0) {
        const { published } = await o.publisher.publish(reaped.toPublish, jobOf, nowMs);
        summary.published += published.length;
      }

      this.#failures = 0;
      o.onTick(summary);
      if (more) return o.clock.now();
      const after = o.clock.now();
      let wakeAt = after + o.safetyTickMs;
      const earliest = await o.store.earliestDue(o.scope);
      // Never re-arm at or before what just fired: an earliest due instant still <= now is a
      // queue-mode job whose chain is alive (or a claim that conflicted); the safety tick covers it.
      if (earliest !== null && earliest.getTime() > nowMs) wakeAt = Math.min(wakeAt, Math.max(earliest.getTime(), after));
      if (this.#followUpAt <= after) this.#followUpAt = Number.POSITIVE_INFINITY;
      else wakeAt = Math.min(wakeAt, this.#followUpAt);
      return wakeAt;
    } catch (error) {
      if (isWarrenError(error, 'ERR_NOT_LEADER')) {
        debug('fence rejected in %s: stepping down', o.scope);
        o.onNotLeader('fence rejected by the store');
        return null;
      }
      this.#failures += 1;
      o.onError(error);
      debug('tick failed (%d in a row): %s', this.#failures, (error as Error)?.message ?? error);
      const backoff = Math.min(o.safetyTickMs, 250 * 2 ** Math.min(this.#failures, 8));
      return o.clock.now() + Math.round(backoff * (0.75 + Math.random() * 0.5));
    }
  }
}

/**
 * The one run that (re)starts a queue-mode chain at `slot`. Its id is the slot's
 * deterministic id, so a reseed racing a worker's chain link for the same slot inserts
 * nothing. The stale deadline starts now: the slot is overdue by definition.
 */
export function chainSeed(job: Pick<JobRecord, 'scope' | 'jobId' | 'params' | 'epoch' | 'stale' | 'schedule'>, slot: Date, now: Date): NewRun {
  const staleAt = job.schedule ? staleAtFor(job, slot, false) : null;
  return {
    runId: slotRunId(job.scope, job.jobId, slot),
    jobId: job.jobId,
    scheduledFor: slot,
    triggerSource: 'scheduler',
    params: job.params,
    epoch: job.epoch,
    status: 'pending',
    staleAt: staleAt === null ? null : new Date(Math.max(staleAt.getTime(), now.getTime() + (staleAt.getTime() - slot.getTime()))),
    availableAt: slot.getTime() > now.getTime() ? slot : now,
  };
}
