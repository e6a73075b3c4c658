/**
 * An instance's liveness lock (docs/reliability.md): `pg_try_advisory_lock` on ONE dedicated
 * connection, opened outside the host's pool, so that
 * - the server releases the lock the moment the process dies (its socket closes), which the
 *   leader reads from `pg_locks` in the statement that reaps;
 * - the session lock never goes back to a pool, where the pool's next user would inherit it;
 * - a pool of size 1 cannot deadlock: the liveness connection is not one of its slots (a
 *   client checked out of the pool and never released would take the only one).
 * When the connection drops the instance says so through the pool (`holding = false`: "not
 * provably alive, my lease stands for me") and reconnects with capped, jittered backoff.
 */
import createDebug from 'debug';
import type { Clock, Timer } from '../../clock.js';
import type { LivenessClient, LivenessHandle, LivenessKind, ReleaseOutcome } from '../port.js';
import { backoffDelayMs } from '../../util/backoff.js';
import { isPool, sqlState, type Queryable, type SqlRunner } from './db.js';
import type { Queries } from './queries.js';

const debug = createDebug('warren:store');

/** Reconnection backoff: 100 ms doubling to this cap, each delay jittered to 50–100 %. */
const MAX_BACKOFF_MS = 5_000;
/** The most close() waits for the server to acknowledge the end of the session. */
const CLOSE_WAIT_MS = 2_000;

export interface PgLivenessDeps {
  /** The host's pool: only for the "let go" write once the dedicated connection is gone. */
  runner: SqlRunner;
  queries: Queries;
  /** 'warren:<schema>:' — the schema keeps two installations on one database apart. */
  prefix: string;
  clock: Clock;
  createClient: () => LivenessClient;
  /** Told once the handle is closed (the store forgets it). */
  onClosed?: (handle: LivenessHandle) => void;
}

/**
 * The default dedicated connection: the pool's own Client class with the pool's settings
 * (what `pg.Pool` itself does for each of its clients), or null when `db` is not a pg.Pool.
 */
export function poolClientFactory(db: Queryable): (() => LivenessClient) | null {
  const pool = db as unknown as { Client?: unknown; options?: unknown };
  if (!isPool(db) || typeof pool.Client !== 'function' || typeof pool.options !== 'object' || pool.options === null) return null;
  const Client = pool.Client as new (config: unknown) => LivenessClient;
  return () => new Client(pool.options);
}

export class PgLiveness implements LivenessHandle {
  readonly #d: PgLivenessDeps;
  readonly #kind: LivenessKind;
  readonly #id: string;
  readonly #onChange: ((held: boolean, error?: Error) => void) | undefined;
  #client: LivenessClient | null = null;
  /** The connection being opened, ended by close() so a close never waits on an unreachable server. */
  #opening: LivenessClient | null = null;
  #held = false;
  #closed = false;
  #failures = 0;
  #timer: Timer | null = null;
  /** Waits on the dedicated connection run one at a time (a transaction each). */
  #waitTail: Promise<unknown> = Promise.resolve();

  constructor(deps: PgLivenessDeps, kind: LivenessKind, instanceId: string, onChange?: (held: boolean, error?: Error) => void) {
    this.#d = deps;
    this.#kind = kind;
    this.#id = instanceId;
    this.#onChange = onChange;
    this.#start();
  }

  get held(): boolean {
    return this.#held;
  }

  awaitRelease(kind: LivenessKind, instanceId: string, timeoutMs: number): Promise<ReleaseOutcome> {
    const run = this.#waitTail.then(() => this.#await(kind, instanceId, timeoutMs));
    this.#waitTail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#d.onClosed?.(this);
    this.#timer?.cancel();
    this.#timer = null;
    // A connection still being opened is abandoned (its own continuation ends it if it
    // lands): close never waits on an unreachable server.
    void this.#opening?.end().catch(() => undefined);
    const client = this.#client;
    this.#client = null;
    this.#held = false;
    // Ending the session releases the lock. The row stays `holding`: what this instance
    // leaves running is reaped after the grace, and the leader's pass deletes the row.
    // Bounded: a goodbye to a server behind a dead network may never be answered.
    if (client === null) return;
    let timer: Timer | undefined;
    await Promise.race([
      client.end().catch(() => undefined),
      new Promise<void>((resolve) => (timer = this.#d.clock.setTimer(resolve, CLOSE_WAIT_MS))),
    ]);
    timer?.cancel();
  }

  #start(): void {
    if (this.#closed) return;
    void this.#connect();
  }

  async #connect(): Promise<void> {
    const q = this.#d.queries;
    let client: LivenessClient;
    try {
      client = this.#d.createClient();
    } catch (err) {
      this.#retry(err);
      return;
    }
    // Listening is not optional: node-postgres throws an unheard 'error' (pg_terminate_backend,
    // a reset), and the host process would exit.
    client.on('error', (err: unknown) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('liveness connection ended')));
    this.#opening = client;
    try {
      await client.connect();
      const { rows } = await client.query(q.livenessLock, [this.#key(this.#kind, this.#id)]);
      if (rows[0]?.locked !== true) {
        throw new Error(
          `the liveness lock of ${this.#kind} ${this.#id} is held by another session (a duplicate instance id, or this instance's previous connection not closed by the server yet)`,
        );
      }
      await client.query(q.livenessHold, [this.#kind, this.#id]);
    } catch (err) {
      void client.end().catch(() => undefined);
      this.#retry(err);
      return;
    } finally {
      this.#opening = null;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#held = true;
    this.#failures = 0;
    debug('liveness lock of %s %s held', this.#kind, this.#id);
    this.#tell(true);
  }

  /** The dedicated connection failed or ended: say so through the pool, then reconnect. */
  #lost(client: LivenessClient, err: unknown): void {
    if (client !== this.#client) return; // a connection being opened (its own catch retries) or one we ended
    this.#client = null;
    this.#held = false;
    const error = err instanceof Error ? err : new Error(String(err));
    debug('liveness connection of %s %s lost: %s', this.#kind, this.#id, error.message);
    void client.end().catch(() => undefined);
    this.#tell(false, error);
    if (this.#closed) return;
    // Until the lock is back the lease stands for this instance: the leader must not read the
    // missing lock as a death. Best effort; if the database is unreachable so is the leader's view.
    this.#d.runner
      .query(this.#d.queries.livenessLetGo, [this.#kind, this.#id])
      .catch((e: unknown) => debug('liveness let-go of %s failed: %s', this.#id, (e as Error)?.message));
    this.#retry(error);
  }

  #retry(err: unknown): void {
    if (this.#closed) return;
    this.#failures += 1;
    const delay = backoffDelayMs({ delayMs: 100, maxMs: MAX_BACKOFF_MS }, this.#failures);
    debug('liveness lock of %s %s: retrying in %d ms after: %s', this.#kind, this.#id, delay, (err as Error)?.message ?? String(err));
    this.#timer?.cancel();
    this.#timer = this.#d.clock.setTimer(() => {
      this.#timer = null;
      this.#start();
    }, delay);
  }

  /**
   * In one transaction on the dedicated connection, bounded by `lock_timeout`: is the other
   * instance registered as holding its lock, and if so, wait for a shared lock on its key,
   * granted only once its exclusive holder is gone.
   */
  async #await(kind: LivenessKind, instanceId: string, timeoutMs: number): Promise<ReleaseOutcome> {
    const client = this.#client;
    if (client === null || !this.#held) return 'unavailable';
    const q = this.#d.queries;
    try {
      await client.query('BEGIN');
      let outcome: ReleaseOutcome = 'unavailable';
      try {
        await client.query(q.livenessLockTimeout, [`${Math.max(1, Math.round(timeoutMs))}ms`]);
        const { rows } = await client.query(q.livenessRegistered, [kind, instanceId]);
        if (rows[0]?.holding === true) {
          await client.query(q.livenessAwait, [this.#key(kind, instanceId)]);
          outcome = 'released';
        }
      } catch (err) {
        if (sqlState(err) !== '55P03') throw err; // lock_not_available: the wait timed out
        outcome = 'timeout';
      } finally {
        // After an error COMMIT ends the aborted transaction as a ROLLBACK.
        await client.query('COMMIT');
      }
      return outcome;
    } catch (err) {
      debug('waiting on the liveness lock of %s %s failed: %s', kind, instanceId, (err as Error)?.message);
      return 'unavailable';
    }
  }

  #key(kind: LivenessKind, instanceId: string): string {
    return `${this.#d.prefix}${kind}:${instanceId}`;
  }

  #tell(held: boolean, error?: Error): void {
    try {
      this.#onChange?.(held, error);
    } catch (err) {
      debug('liveness onChange threw: %O', err);
    }
  }
}
