import type { Clock } from '../clock.js';
import type { RunningRun } from './core.js';
import { InstantGate } from './instant-gate.js';
import { Semaphore } from './semaphore.js';

/**
 * The worker's run bookkeeping, in one place: the runs it holds (one entry per run id), the
 * claims in flight, and per work queue the window (`prefetch`: runs held, from delivery
 * until the handler settles) and the handler slots (`concurrency`). The worker's parts
 * change it only through these methods.
 */
export class RunBook {
  /** Run id → the attempt this worker holds (a newer attempt replaces a lost one). */
  readonly #running = new Map<string, RunningRun>();
  /** `runId#attempt` of claims in flight, so a duplicate delivery in the same batch is dropped locally. */
  readonly #claiming = new Set<string>();
  readonly #windows = new Map<string, Semaphore>();
  readonly #slots = new Map<string, Semaphore>();
  readonly #limits: { concurrency: number; prefetch: number };
  readonly #gate: InstantGate;

  constructor(limits: { concurrency: number; prefetch: number }, clock: Clock) {
    this.#limits = limits;
    this.#gate = new InstantGate(clock);
  }

  /**
   * A delivery sent before its instant waits here (it holds its AMQP prefetch place, unacked,
   * meanwhile) until `lead` ms before it, time for its claim; resolves true then, false once
   * `closeWindows()` is called.
   */
  untilInstant(at: number, lead: number): Promise<boolean> {
    return this.#gate.until(at, lead);
  }

  /** Deliveries waiting for their instant. */
  get waitingForInstant(): number {
    return this.#gate.waiting;
  }

  /**
   * Takes a place in the queue's window; resolves with its release. Waits while the window
   * is full (the delivery stays unacked meanwhile); rejects with ERR_CLOSED once
   * `closeWindows()` is called.
   */
  enterWindow(queue: string): Promise<() => void> {
    return placesOf(this.#windows, queue, this.#limits.prefetch).acquire();
  }

  /** A window place at once (its release), or null when the window is full. */
  tryEnterWindow(queue: string): (() => void) | null {
    return placesOf(this.#windows, queue, this.#limits.prefetch).tryAcquire();
  }

  /** A handler slot at once (its release), or null when all are taken. */
  tryTakeSlot(queue: string): (() => void) | null {
    return placesOf(this.#slots, queue, this.#limits.concurrency).tryAcquire();
  }

  /** Takes one of the queue's handler slots; resolves with its release. */
  takeSlot(queue: string): Promise<() => void> {
    return placesOf(this.#slots, queue, this.#limits.concurrency).acquire();
  }

  /** Shutdown: deliveries waiting for their instant or a window place are refused (they stay unacked and go back to the queue). */
  closeWindows(): void {
    this.#gate.close();
    for (const window of this.#windows.values()) window.rejectWaiters();
  }

  /** A claim of this attempt of the run is in flight here. */
  beginClaim(runId: string, attempt: number): void {
    this.#claiming.add(claimKey(runId, attempt));
  }

  /** The claim answered (or was abandoned). */
  endClaim(runId: string, attempt: number): void {
    this.#claiming.delete(claimKey(runId, attempt));
  }

  isClaiming(runId: string, attempt: number): boolean {
    return this.#claiming.has(claimKey(runId, attempt));
  }

  /** Holds a claimed run until `forget`; a newer attempt replaces a lost entry of the same run (that one settles on its own). */
  hold(entry: RunningRun): void {
    this.#running.set(entry.run.runId, entry);
  }

  /** The entry held for this run id, if any. */
  get(runId: string): RunningRun | undefined {
    return this.#running.get(runId);
  }

  /** Whether `entry` is still the one held for its run (not forgotten, not replaced by a newer attempt). */
  holds(entry: RunningRun): boolean {
    return this.#running.get(entry.run.runId) === entry;
  }

  /** The entry leaves this worker: stop its lease timer and drop it, unless a newer attempt replaced it. */
  forget(entry: RunningRun): void {
    entry.leaseTimer?.cancel();
    entry.leaseTimer = null;
    if (this.holds(entry)) this.#running.delete(entry.run.runId);
  }

  /** Runs held (claimed, running or having their result recorded). */
  get size(): number {
    return this.#running.size;
  }

  /** Every run held. */
  runs(): RunningRun[] {
    return [...this.#running.values()];
  }

  /** The runs whose handler has not settled yet. */
  unsettled(): RunningRun[] {
    return this.runs().filter((entry) => !entry.execution.settled);
  }

  /** Run id → entry, for the runs whose lease is still this worker's (the ones to heartbeat). */
  leased(): Map<string, RunningRun> {
    const leased = new Map<string, RunningRun>();
    for (const [id, entry] of this.#running) if (!entry.lost) leased.set(id, entry);
    return leased;
  }
}

function claimKey(runId: string, attempt: number): string {
  return `${runId}#${attempt}`;
}

function placesOf(all: Map<string, Semaphore>, queue: string, size: number): Semaphore {
  let places = all.get(queue);
  if (places === undefined) {
    places = new Semaphore(size);
    all.set(queue, places);
  }
  return places;
}
