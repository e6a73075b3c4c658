/**
 * Run-history retention (docs/retention.md): while leading, every `interval` the leader
 * computes each job's cutoff once, then deletes what lies before it in small batches (one
 * short statement each, rows locked SKIP LOCKED so a batch never waits on a worker), pausing
 * between batches as long as the batch took, and stopping as soon as it no longer leads.
 * One audit entry per pass that deleted something, with the count per job.
 */
import createDebug from 'debug';
import type { Clock, Timer } from '../clock.js';
import { SCOPE_AUDIT_JOB, type RetentionDefaults, type Store } from '../store/port.js';

const debug = createDebug('warren:scheduler');

/** What one retention pass deleted. */
export interface PruneSummary {
  scope: string;
  /** Runs deleted in all. */
  deleted: number;
  /** Runs deleted per job id. */
  jobs: Record<string, number>;
  batches: number;
  /** False when the pass stopped before it was done (leadership lost, stopping): the next pass goes on. */
  complete: boolean;
}

export interface RetentionKeeperOptions {
  store: Store;
  scope: string;
  clock: Clock;
  defaults: RetentionDefaults;
  intervalMs: number;
  batchSize: number;
  /** Written as the audit entry's actor. */
  actor: string;
  isLeader(): boolean;
  onPruned(summary: PruneSummary): void;
  onError(error: unknown): void;
}

/** The longest pause between two batches, whatever the last one took. */
const MAX_PAUSE_MS = 1000;

export class RetentionKeeper {
  readonly #o: RetentionKeeperOptions;
  #timer: Timer | null = null;
  #inFlight: Promise<void> | null = null;
  #running = false;

  constructor(options: RetentionKeeperOptions) {
    this.#o = options;
  }

  /** While leading: a pass every interval (the first one an interval after gaining the lead). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm(this.#o.intervalMs);
  }

  /** Stops arming passes; a pass in flight ends after its current batch. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = null;
    await this.#inFlight?.catch(() => undefined);
  }

  #arm(ms: number): void {
    if (!this.#running) return;
    this.#timer?.cancel();
    this.#timer = this.#o.clock.setTimer(() => {
      this.#timer = null;
      this.#inFlight = this.#pass()
        .catch((error: unknown) => this.#o.onError(error))
        .finally(() => {
          this.#inFlight = null;
          this.#arm(this.#o.intervalMs);
        });
    }, ms);
  }

  #leading(): boolean {
    return this.#running && this.#o.isLeader();
  }

  async #pass(): Promise<void> {
    const { store, scope, clock, defaults, batchSize } = this.#o;
    if (!this.#leading()) return;
    const cutoffs = await store.retentionCutoffs(scope, defaults, new Date(clock.now()));
    const jobs = new Map<string, number>();
    let deleted = 0;
    let batches = 0;
    let complete = cutoffs.length === 0;
    try {
      while (cutoffs.length > 0 && this.#leading()) {
        const started = clock.now();
        const batch = await store.pruneRuns(scope, cutoffs, batchSize);
        batches += 1;
        let n = 0;
        for (const [jobId, count] of batch) {
          jobs.set(jobId, (jobs.get(jobId) ?? 0) + count);
          n += count;
        }
        deleted += n;
        // A short batch: nothing left before the cutoffs (or the rest is locked: next pass).
        if (n < batchSize) {
          complete = true;
          break;
        }
        // Leave the database to the tick and the workers as long again as the batch took.
        await clock.sleep(Math.min(MAX_PAUSE_MS, Math.max(0, clock.now() - started)));
      }
    } finally {
      if (deleted > 0) await this.#record({ scope, deleted, jobs: Object.fromEntries(jobs), batches, complete });
    }
  }

  async #record(summary: PruneSummary): Promise<void> {
    const { store, scope, clock, defaults, actor } = this.#o;
    debug('retention pass in %s deleted %d run(s) in %d batch(es)', scope, summary.deleted, summary.batches);
    await store.appendAudit(scope, {
      jobId: SCOPE_AUDIT_JOB,
      action: 'prune',
      actor,
      details: { deleted: summary.deleted, jobs: summary.jobs, batches: summary.batches, complete: summary.complete, defaults },
      at: new Date(clock.now()),
    });
    this.#o.onPruned(summary);
  }
}
