/**
 * The leader's loop. It sleeps until `lookAhead` before the earliest `next_due_at` (on the
 * Clock), wakes early when a job changes (NOTIFY from a control action on any instance), and
 * keeps a safety tick for what has no due time of its own (the outbox, expired leases,
 * broken chains). Each tick: (a) republish runs left unpublished by a crash, (b) claim the
 * due slots of all jobs, and the slots due within the look-ahead, in one fenced transaction,
 * and publish them all at once: a slot claimed ahead goes out with its instant in a
 * not-before header, and the worker holds it until then (so the slot path at the instant is
 * a worker's timer and its claim); reseed broken queue-mode chains in the same transaction,
 * (c) reap runs whose worker vanished.
 */
import createDebug from 'debug';
import type { Clock, Timer } from '../clock.js';
import { isWarrenError } from '../errors.js';
import { chainRestartAt, staleAtFor } from '../define/schedule.js';
import type { Fence, JobRecord, NewRun, RunRecord, SlotClaim, Store } from '../store/port.js';
import { slotRunId } from '../util/uuid.js';
import { backoffDelayMs } from '../util/backoff.js';
import { planAhead, planSlots, type PlanCounts, type SlotGridCache } from './plan.js';
import type { RunPublisher } from './publisher.js';
import { reapExpiredLeases, type ReapedRun } from './reaper.js';

const debug = createDebug('warren:scheduler');

/** The look-ahead widens to cover a slow claiming pass, at most this many times `lookAhead`. */
const MAX_WIDENING = 4;

/** Most unsent runs a leader remembers for a prompt resend (the outbox finds the rest). */
const MAX_UNSENT = 10_000;

export interface TickSummary {
  at: Date;
  /** Outbox runs republished. */
  republished: number;
  /** Jobs whose due slots were claimed. */
  claimedJobs: number;
  /** Run rows inserted by the claim, by status. */
  inserted: { pending: number; missed: number; skipped: number };
  /** Of the pending runs inserted, those claimed ahead of their slot (published at once with a not-before header). */
  ahead: number;
  /** Runs published (slots, reseeds, retries). */
  published: number;
  /** Queue-mode chains reseeded. */
  reseeded: number;
  /** Expired leases handled. */
  reaped: number;
  /** Where the tick's time went, in Clock milliseconds. */
  phases: TickPhases;
}

/**
 * Clock milliseconds per phase of one tick, in tick order. A phase that did not run is 0.
 * `wake` is how late the tick started after the earliest slot it claimed (null when it
 * claimed none): the timer's precision. The slot path is wake → outbox → dueJobs →
 * counts → brokenChains → claimSlots → publish → markPublished; `slot:published` fires
 * after markPublished.
 */
export interface TickPhases {
  wake: number | null;
  /** Outbox query and any republishing. */
  outbox: number;
  dueJobs: number;
  /** Overlap counts of the due jobs. */
  counts: number;
  brokenChains: number;
  /** Planning the slots (catch-up, overlap) and the chain reseeds, in process. */
  plan: number;
  /** The fenced claim transaction. */
  claimSlots: number;
  /** Slot triggers sent until the broker confirmed them all. */
  publish: number;
  markPublished: number;
  /** Reaper pass (expired leases) and its republishing. */
  reap: number;
  /** Tick start → onTick. */
  total: number;
}

export interface TickerOptions {
  store: Store;
  publisher: RunPublisher;
  scope: string;
  clock: Clock;
  safetyTickMs: number;
  outboxGraceMs: number;
  /** The backstop: pending runs published and due this long ago, never claimed, are republished. */
  republishAfterMs: number;
  /** Slots due within this horizon are claimed ahead and published at once, held by the worker until their instant (0: off). */
  lookAheadMs: number;
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
  /**
   * Runs this leader claimed but could not publish (the broker away): sent again on the
   * next tick that finds the broker back, without waiting for the outbox grace that
   * protects other instances' fresh runs. Bounded; the outbox query finds any beyond it.
   */
  readonly #unsent = new Map<string, RunRecord>();
  /** Clock ms of the last pass that claimed slots: the look-ahead widens to cover it (a loaded machine). */
  #claimCostMs = 0;

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
    this.#unsent.clear();
    this.#timer?.cancel();
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    await this.#inFlight?.catch(() => {});
  }

  /**
   * A job changed: tick now, and once more when the outbox grace of its new runs has passed.
   * (A slot of it claimed ahead that a pause or edit cancelled is already in its queue: the
   * worker's claim at the instant finds the run cancelled and drops the trigger.)
   */
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
    this.#timer = this.#o.clock.setTimer(
      () => {
        this.#timer = null;
        this.#timerAt = Number.POSITIVE_INFINITY;
        void this.#run();
      },
      Math.max(0, at - this.#o.clock.now()),
    );
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

  /**
   * How far ahead this pass claims: `lookAhead`, widened to twice the cost of the last pass
   * that claimed slots when that is longer (a loaded machine, a burst of due jobs), at most
   * four times `lookAhead`, so the claim still commits before the instant.
   */
  #aheadMs(): number {
    const base = this.#o.lookAheadMs;
    return base === 0 ? 0 : Math.min(MAX_WIDENING * base, Math.max(base, 2 * this.#claimCostMs));
  }

  /** How early a claimed-ahead trigger may go out: the widest horizon a pass claims (0: the look-ahead is off). */
  #earlyMs(): number {
    return MAX_WIDENING * this.#o.lookAheadMs;
  }

  /** The outbox's runs and this leader's unsent ones, each once, at most `limit`. */
  #resendable(unpublished: readonly RunRecord[], limit: number): RunRecord[] {
    if (this.#unsent.size === 0) return [...unpublished];
    const byId = new Map(unpublished.map((run) => [run.runId, run]));
    for (const [runId, run] of this.#unsent) {
      if (byId.size >= limit) break;
      if (!byId.has(runId)) byId.set(runId, run);
    }
    return [...byId.values()];
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
    const phases: TickPhases = {
      wake: null,
      outbox: 0,
      dueJobs: 0,
      counts: 0,
      brokenChains: 0,
      plan: 0,
      claimSlots: 0,
      publish: 0,
      markPublished: 0,
      reap: 0,
      total: 0,
    };
    const summary: TickSummary = {
      at: now,
      republished: 0,
      claimedJobs: 0,
      inserted: { pending: 0, missed: 0, skipped: 0 },
      ahead: 0,
      published: 0,
      reseeded: 0,
      reaped: 0,
      phases,
    };
    let mark = nowMs;
    /** Milliseconds since the previous lap. */
    const lap = (): number => {
      const t = o.clock.now();
      const ms = t - mark;
      mark = t;
      return ms;
    };
    let more = false;
    const aheadMs = this.#aheadMs();
    const horizonMs = nowMs + aheadMs;
    try {
      // (a) One round trip for the reads: the outbox, the due jobs and the broken chains are
      // independent, so they go out together (on a pool, each on its own connection).
      const timed = <T>(read: Promise<T>, phase: 'outbox' | 'dueJobs' | 'brokenChains'): Promise<T> =>
        read.then((value) => {
          phases[phase] = o.clock.now() - nowMs;
          return value;
        });
      const [unpublished, due, broken] = await Promise.all([
        // Outbox: runs a crash (or a control-only instance) left unpublished, and (backstop)
        // runs published long ago that nobody claimed long after they were due: a lost trigger.
        o.publisher.enabled
          ? timed(
              o.store.unpublishedRuns(o.scope, new Date(nowMs - o.outboxGraceMs), limit, {
                republishBefore: new Date(nowMs - o.republishAfterMs),
              }),
              'outbox',
            )
          : [],
        timed(o.store.dueJobs(o.scope, new Date(horizonMs), limit), 'dueJobs'),
        // `next_due_at < before` in the port: +1 ms makes a chain due exactly now count as overdue.
        timed(o.store.brokenChains(o.scope, new Date(nowMs + 1), limit), 'brokenChains'),
      ]);
      lap();
      more ||= due.length >= limit || unpublished.length >= limit;

      // (b) Due slots of scheduler-mode jobs (queue mode is chained by the workers; dueJobs leaves
      // it out already, the filter is a guard). The overlap counts of all of them come in one
      // query, and only for the policies that read them.
      const scheduled = due.filter((job) => job.reschedule !== 'queue');
      for (const job of due) cache.set(job.jobId, Promise.resolve(job));
      const counted = scheduled.filter((job) => job.overlap === 'skip' || job.overlap === 'bufferOne').map((job) => job.jobId);
      const counts = counted.length > 0 ? await o.store.runningCounts(o.scope, counted, now) : new Map<string, PlanCounts>();
      phases.counts = lap();
      const claims: SlotClaim[] = [];
      const grids: SlotGridCache = new Map();
      const aheadGrids: SlotGridCache = new Map();
      for (const job of scheduled) {
        const count = counts.get(job.jobId) ?? { running: 0, pending: 0 };
        if (job.nextDueAt !== null && job.nextDueAt.getTime() > nowMs) {
          // Due within the look-ahead. A `skip` job's run is claimed whatever runs now: the
          // worker's claim skips it if the job is still busy when it arrives. A `bufferOne` job
          // at its limit is left to the pass at its slot, which counts its waiting run then.
          if (job.overlap === 'bufferOne' && count.running >= job.maxParallel) continue;
          const claim = planAhead(job, new Date(horizonMs), aheadGrids);
          if (claim !== null) claims.push(claim);
          continue;
        }
        const plan = planSlots(job, now, count, limit, grids);
        if (plan === null) continue;
        phases.wake = Math.max(phases.wake ?? 0, nowMs - job.nextDueAt!.getTime());
        claims.push(plan.claim);
        more ||= plan.more;
      }
      // Reseeds of broken queue-mode chains, claimed in the same transaction.
      for (const job of broken) {
        if (job.nextDueAt === null || job.reschedule !== 'queue' || job.schedule === null) continue;
        cache.set(job.jobId, Promise.resolve(job));
        // The overdue slot's own row may exist already (a link cancelled by an epoch bump,
        // or expired): then the chain restarts (a cron at its next slot, `every` now), and the
        // CAS moves next_due_at there.
        const taken = (await o.store.getRun(slotRunId(o.scope, job.jobId, job.nextDueAt))) !== null;
        const slot = taken ? chainRestartAt(job.schedule, now) : job.nextDueAt;
        claims.push({ jobId: job.jobId, expectedNextDueAt: job.nextDueAt, nextDueAt: slot, runs: [chainSeed(job, slot, now)] });
        summary.reseeded += 1;
      }
      phases.plan = lap();
      if (claims.length > 0) {
        const result = await o.store.claimSlots(o.scope, fence, claims, now);
        phases.claimSlots = lap();
        summary.claimedJobs = result.claimed.length;
        if (result.conflicts.length > 0) debug('claim conflicts in %s: %o', o.scope, result.conflicts);
        for (const run of result.inserted) {
          if (run.status === 'pending') summary.inserted.pending += 1;
          else if (run.status === 'missed') summary.inserted.missed += 1;
          else if (run.status === 'skipped') summary.inserted.skipped += 1;
        }
        const pendingRuns = result.inserted.filter((run) => run.status === 'pending');
        if (pendingRuns.length > 0) {
          // All triggers go out at once and are confirmed together; one statement marks them.
          // Sent as of now, not of the tick's start: a slot claimed ahead whose instant passed
          // during the claim must not wait for a not-before that is gone. One still ahead carries
          // its instant in a header, and the worker holds it until then.
          const sentAt = o.clock.now();
          summary.ahead = pendingRuns.filter((run) => run.availableAt.getTime() > sentAt).length;
          const { published, failed } = await o.publisher.publish(pendingRuns, jobOf, sentAt, {
            earlyMs: this.#earlyMs(),
            onConfirmed: () => {
              phases.publish = lap();
            },
          });
          phases.markPublished = lap();
          summary.published += published.length;
          published.forEach((run) => o.onPublished(run));
          if (failed.length > 0) {
            debug('%d triggers left to the outbox: %s', failed.length, String((failed[0]!.error as Error)?.message ?? failed[0]!.error));
            const failedIds = new Set(failed.map((f) => f.runId));
            for (const run of pendingRuns) if (failedIds.has(run.runId) && this.#unsent.size < MAX_UNSENT) this.#unsent.set(run.runId, run);
          }
        }
      }

      // The outbox's runs are overdue by the grace already: republished after the on-time
      // slots, with the runs this leader could not send itself (the broker was away). A run of
      // the outbox still ahead of its instant (a dead leader's claimed-ahead slot) goes out with
      // its not-before header, as it would have from that leader.
      const resend = this.#resendable(unpublished, limit);
      if (resend.length > 0) {
        lap();
        const { published } = await o.publisher.publish(resend, jobOf, o.clock.now(), { earlyMs: this.#earlyMs() });
        for (const run of published) this.#unsent.delete(run.runId);
        summary.republished = published.length;
        summary.published += published.length;
        published.forEach((run) => o.onPublished(run));
        phases.outbox += lap();
      }

      // (c) reaper: runs whose worker vanished.
      lap();
      const reaped = await reapExpiredLeases(o.store, o.scope, now, limit, jobOf);
      summary.reaped = reaped.reaped.length;
      reaped.reaped.forEach((r) => o.onReaped(r));
      more ||= reaped.full;
      if (reaped.toPublish.length > 0) {
        const { published } = await o.publisher.publish(reaped.toPublish, jobOf, nowMs);
        summary.published += published.length;
      }
      phases.reap = lap();

      this.#failures = 0;
      phases.total = o.clock.now() - nowMs;
      if (summary.inserted.pending > 0) this.#claimCostMs = phases.total;
      o.onTick(summary);
      if (more) return o.clock.now();
      const after = o.clock.now();
      let wakeAt = after + o.safetyTickMs;
      const earliest = (await o.store.earliestDue(o.scope))?.getTime() ?? null;
      // Wake the look-ahead before the earliest due instant. Never re-arm at or before what just
      // fired: an earliest due instant within this tick's horizon was not claimed (a job at its
      // overlap limit, left to the tick at its slot, or a claim that conflicted): wake at the
      // instant itself; one still <= now conflicted (earliestDue leaves queue-mode jobs out),
      // and the safety tick covers it.
      const claimAt = earliest === null ? null : earliest - this.#aheadMs();
      if (earliest !== null && claimAt! > nowMs) wakeAt = Math.min(wakeAt, Math.max(claimAt!, after));
      else if (earliest !== null && earliest > nowMs) wakeAt = Math.min(wakeAt, Math.max(earliest, after));
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
      return o.clock.now() + backoffDelayMs({ delayMs: 500, maxMs: o.safetyTickMs }, this.#failures);
    }
  }
}

/**
 * The one run that (re)starts a queue-mode chain at `slot`. Its id is the slot's
 * deterministic id, so a reseed racing a worker's chain link for the same slot inserts
 * nothing. The stale deadline starts now: the slot is overdue by definition.
 */
export function chainSeed(
  job: Pick<JobRecord, 'scope' | 'jobId' | 'params' | 'epoch' | 'stale' | 'schedule'>,
  slot: Date,
  now: Date,
): NewRun {
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
