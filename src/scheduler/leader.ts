/**
 * Leader election per scope, pg-boss style: the store takes or renews a lease row by
 * compare-and-set inside a transaction holding `pg_advisory_xact_lock(key(scope))`, so it
 * is safe on a host's pooled connections and behind PgBouncer (a session-level advisory
 * lock would stay with whichever pooled connection took it). The lease carries a fencing
 * epoch that every tick transaction checks: leadership here is an optimisation, the fence
 * and the deterministic run ids are the correctness mechanism.
 */
import createDebug from 'debug';
import type { Clock, Timer } from '../clock.js';
import type { Fence, ReleaseOutcome, Store } from '../store/port.js';
import { backoffDelayMs } from '../util/backoff.js';

const debug = createDebug('warren:leader');

export interface LeaderElectorOptions {
  store: Store;
  scope: string;
  instanceId: string;
  clock: Clock;
  ttlMs: number;
  renewMs: number;
  /**
   * Liveness (docs/reliability.md): waits until the lease holder's liveness lock is released
   * (its process died), at most `timeoutMs`, so a follower tries the lease at once instead of
   * at its next renewal. Absent with `liveness: false`.
   */
  awaitRelease?: (holder: string, timeoutMs: number) => Promise<ReleaseOutcome>;
  /**
   * How long a follower waits, once the holder's lock was released, before it tries the
   * lease: time for a leader that is alive (only its liveness connection dropped) to notice
   * and step down first, so two instances never both believe they lead.
   */
  releaseGraceMs?: number;
  onGained(fence: Fence): void;
  onLost(reason: string): void;
  onError(error: unknown): void;
}

/** The job-change notification a releasing leader sends so followers retry at once. */
export const LEADER_RELEASED = 'warren.leader-released';

export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  #fence: Fence | null = null;
  /** Until when the lease is proven ours: the start of the last successful renewal + TTL. */
  #provenUntil = 0;
  #timer: Timer | null = null;
  #expiryTimer: Timer | null = null;
  #inFlight: Promise<void> | null = null;
  #again = false;
  #running = false;
  #failures = 0;
  #timerAt = Number.POSITIVE_INFINITY;
  /** The holder whose liveness lock this follower is waiting on (one wait at a time). */
  #watching: string | null = null;
  /** When this follower learned that the holder's liveness lock was gone (its grace runs from then). */
  #releasedAt: number | null = null;

  constructor(options: LeaderElectorOptions) {
    this.#o = options;
  }

  isLeader(): boolean {
    return this.#fence !== null;
  }

  fence(): Fence | null {
    return this.#fence;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** A follower heard that the lease was released (or a job changed): try at once. */
  wake(): void {
    if (!this.#running || this.isLeader()) return;
    this.#schedule(0);
  }

  /** The tick saw ERR_NOT_LEADER: the fence moved, so step down at once. */
  lost(reason: string): void {
    if (this.#fence === null) return;
    this.#stepDown(reason);
    if (this.#running) this.#schedule(this.#o.renewMs);
  }

  /** Stops the loop and, when leading, releases the lease so another instance takes over at once. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = null;
    this.#expiryTimer?.cancel();
    this.#expiryTimer = null;
    await this.#inFlight?.catch(() => {});
    if (this.#fence === null) return;
    this.#stepDown('stopped');
    await this.#release();
  }

  /**
   * This instance's liveness lock is gone while it leads: a follower may take the lease
   * once its grace has passed. Step down now and hand the lease over, so there is never a
   * moment with two instances believing they lead; this one competes again at its next try.
   */
  relinquish(reason: string): void {
    if (this.#fence === null) return;
    this.#stepDown(reason);
    void this.#release();
    if (this.#running) this.#schedule(this.#o.renewMs);
  }

  async #release(): Promise<void> {
    try {
      await this.#o.store.releaseLeadership(this.#o.scope, this.#o.instanceId);
      await this.#o.store.notifyJobChange(this.#o.scope, LEADER_RELEASED);
      debug('%s released the lease of %s', this.#o.instanceId, this.#o.scope);
    } catch (error) {
      // The lease then expires on its own after the TTL (or a follower takes it by liveness).
      debug('release failed: %O', error);
      this.#o.onError(error);
    }
  }

  #schedule(ms: number): void {
    this.#timer?.cancel();
    this.#timerAt = this.#o.clock.now() + ms;
    this.#timer = this.#o.clock.setTimer(() => {
      this.#timer = null;
      void this.#attempt();
    }, ms);
  }

  /** Like #schedule, but never postpones an attempt already due sooner (a wake on release). */
  #scheduleWithin(ms: number): void {
    if (this.#timer !== null && this.#timerAt <= this.#o.clock.now() + ms) return;
    this.#schedule(ms);
  }

  async #attempt(): Promise<void> {
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    const run = this.#acquire().finally(() => {
      this.#inFlight = null;
    });
    this.#inFlight = run;
    await run;
    if (this.#again && this.#running) {
      this.#again = false;
      this.#schedule(0);
    }
  }

  async #acquire(): Promise<void> {
    if (!this.#running) return;
    const { store, scope, instanceId, clock, ttlMs, renewMs } = this.#o;
    // The lease is proven from the moment the request was sent, never from its answer.
    const sentAt = clock.now();
    try {
      const state = await store.acquireLeadership(scope, instanceId, ttlMs, new Date(sentAt));
      this.#failures = 0;
      if (!this.#running) {
        if (state.leader) await store.releaseLeadership(scope, instanceId).catch(() => {});
        return;
      }
      if (state.leader && state.fence && this.#fence === null && state.takenFromLiveHolder === true && this.#beforeGrace(sentAt)) {
        // The lease came through the holder's liveness lock being gone, before this follower
        // served the grace: lead once it has passed (the lease is ours meanwhile, so the old
        // holder's writes are fenced out), so the old holder has that long to see its own
        // lock gone and step down: never two instances believing they lead.
        debug('%s took the lease of %s from a holder whose liveness lock is gone, before the grace: leading after it', instanceId, scope);
        this.#releasedAt = sentAt;
        this.#schedule(this.#o.releaseGraceMs!);
        return;
      }
      if (state.leader) this.#releasedAt = null;
      if (state.leader && state.fence) {
        this.#provenUntil = sentAt + ttlMs;
        this.#armExpiry();
        const previous = this.#fence;
        this.#fence = state.fence;
        if (previous === null || previous.epoch !== state.fence.epoch) {
          if (previous !== null) this.#o.onLost('fence moved');
          debug('%s leads %s (fence %d)', instanceId, scope, state.fence.epoch);
          this.#o.onGained(state.fence);
        }
      } else if (this.#fence !== null) {
        this.#stepDown(`lease held by ${state.holder ?? 'another instance'}`);
      }
      if (!state.leader && state.holder !== null) this.#watch(state.holder);
      this.#schedule(renewMs);
    } catch (error) {
      this.#failures += 1;
      debug('lease renewal failed (%d in a row): %s', this.#failures, (error as Error)?.message ?? error);
      this.#o.onError(error);
      if (!this.#running) return;
      // Retry sooner than the renew interval while leading, so a brief outage does not cost
      // the lease; followers back off (capped, jittered).
      const policy = this.#fence !== null ? { delayMs: 500, maxMs: renewMs } : { delayMs: 2 * renewMs, maxMs: 30_000 };
      this.#schedule(backoffDelayMs(policy, this.#failures));
    }
  }

  /** Whether the grace since this follower learned the holder's liveness lock was gone has not passed yet. */
  #beforeGrace(sentAt: number): boolean {
    const grace = this.#o.releaseGraceMs ?? 0;
    return grace > 0 && (this.#releasedAt === null || sentAt < this.#releasedAt + grace);
  }

  /**
   * Follower: wait on the holder's liveness lock (one wait at a time) and try the lease the
   * moment it is released. The lease CAS still decides: the lock only says when to try.
   */
  #watch(holder: string): void {
    const wait = this.#o.awaitRelease;
    if (wait === undefined || this.#watching === holder) return;
    // A wait on a previous holder still in flight is abandoned (it ends by its own timeout).
    this.#watching = holder;
    void wait(holder, this.#o.renewMs)
      .catch((): ReleaseOutcome => 'unavailable')
      .then((outcome) => {
        if (this.#watching !== holder) return;
        this.#watching = null;
        if (outcome !== 'released' || !this.#running || this.isLeader()) return;
        this.#releasedAt ??= this.#o.clock.now();
        debug('%s saw the liveness lock of %s released in %s: trying the lease', this.#o.instanceId, holder, this.#o.scope);
        this.#scheduleWithin(this.#o.releaseGraceMs ?? 0);
      });
  }

  /** Never act on a lease we cannot prove: step down the instant it would have expired. */
  #armExpiry(): void {
    this.#expiryTimer?.cancel();
    // A small margin before the proven expiry absorbs timer lag, so the old leader has
    // stepped down by the time a follower may take the expired lease.
    const until = this.#provenUntil - Math.min(500, Math.floor(this.#o.ttlMs / 10));
    this.#expiryTimer = this.#o.clock.setTimer(
      () => {
        this.#expiryTimer = null;
        if (this.#fence !== null && this.#o.clock.now() >= until) this.#stepDown('lease not renewed in time');
      },
      Math.max(0, until - this.#o.clock.now()),
    );
  }

  #stepDown(reason: string): void {
    if (this.#fence === null) return;
    this.#fence = null;
    this.#expiryTimer?.cancel();
    this.#expiryTimer = null;
    debug('%s stepped down in %s: %s', this.#o.instanceId, this.#o.scope, reason);
    this.#o.onLost(reason);
  }
}
