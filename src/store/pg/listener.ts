/**
 * Job-change fan-out: ONE connection held for LISTEN, shared by every subscriber of every
 * scope. NOTIFY is delivered only to sessions listening at commit time, and a pooled
 * connection that drops loses its LISTEN, so after an error the client is destroyed (not
 * returned to the host's pool) and a new one re-LISTENs with capped, jittered backoff.
 */
import createDebug from 'debug';
import type { Clock, Timer } from '../../clock.js';
import type { JobChange } from '../port.js';
import { backoffDelayMs } from '../../util/backoff.js';
import { connectListening, quoteIdent, type PoolClientLike, type PoolLike, type Queryable, type SqlRunner } from './db.js';

const debug = createDebug('warren:store');

type Listener = (change: JobChange) => void;

interface NotificationLike {
  channel: string;
  payload?: string;
}

const ignoreLateError = (): void => {};

export class JobChangeListener {
  readonly #runner: SqlRunner;
  readonly #channel: string;
  readonly #clock: Clock;
  readonly #listeners = new Map<string, Set<Listener>>();
  #client: PoolClientLike | Queryable | null = null;
  #connecting: Promise<void> | null = null;
  #retryTimer: Timer | null = null;
  #failures = 0;
  #closed = false;

  constructor(runner: SqlRunner, channel: string, clock: Clock) {
    this.#runner = runner;
    this.#channel = channel;
    this.#clock = clock;
  }

  async subscribe(scope: string, listener: Listener): Promise<() => Promise<void>> {
    let set = this.#listeners.get(scope);
    if (!set) this.#listeners.set(scope, (set = new Set()));
    set.add(listener);
    await this.#ensureConnected();
    return async () => {
      const current = this.#listeners.get(scope);
      current?.delete(listener);
      if (current?.size === 0) this.#listeners.delete(scope);
      if (this.#listeners.size === 0) await this.#disconnect();
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#disconnect();
  }

  #ensureConnected(): Promise<void> {
    if (this.#closed || this.#client) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const db = this.#runner.db;
    const client: PoolClientLike | Queryable | null = this.#runner.pooled
      ? await connectListening(db as PoolLike, this.#onError).catch((err: unknown) => this.#failed(err))
      : db;
    if (!client) return;
    const on = (client as PoolClientLike).on?.bind(client);
    on?.('notification', this.#onNotification);
    // `error` is heard from the checkout on (connectListening).
    if (this.#runner.pooled) on?.('end', this.#onEnd);
    try {
      // On a bare client this waits its turn behind the store's other statements.
      if (this.#runner.pooled) await client.query(`LISTEN ${quoteIdent(this.#channel)}`);
      else await this.#runner.query(`LISTEN ${quoteIdent(this.#channel)}`);
    } catch (err) {
      this.#detach(client, err);
      this.#failed(err);
      return;
    }
    if (this.#closed || this.#listeners.size === 0) {
      await this.#release(client);
      return;
    }
    this.#client = client;
    this.#failures = 0;
    debug('listening on %s', this.#channel);
  }

  readonly #onNotification = (message: NotificationLike): void => {
    if (message.channel !== this.#channel || !message.payload) return;
    let change: JobChange;
    try {
      const parsed = JSON.parse(message.payload) as Partial<JobChange>;
      if (typeof parsed.scope !== 'string' || typeof parsed.jobId !== 'string') return;
      change = { scope: parsed.scope, jobId: parsed.jobId };
    } catch {
      return;
    }
    for (const listener of [...(this.#listeners.get(change.scope) ?? [])]) {
      try {
        listener(change);
      } catch (err) {
        debug('job change listener threw: %O', err);
      }
    }
  };

  readonly #onError = (err: unknown): void => {
    const client = this.#client;
    if (!client) return;
    debug('LISTEN connection failed: %O', err);
    this.#client = null;
    this.#detach(client, err);
    this.#failed(err);
  };

  readonly #onEnd = (): void => this.#onError(new Error('LISTEN connection ended'));

  /** Stops listening to a client; a failed pooled client is destroyed, not reused. */
  #detach(client: PoolClientLike | Queryable, err?: unknown): void {
    const c = client as PoolClientLike;
    c.removeListener?.('notification', this.#onNotification);
    if (!this.#runner.pooled) return;
    c.removeListener?.('error', this.#onError);
    c.removeListener?.('end', this.#onEnd);
    // A late error event on a client destroyed here must not crash the host. A client
    // released healthy goes back to the pool, which guards its idle clients itself; adding
    // a listener to it on every release would pile them up on a reused client.
    if (err !== undefined && !c.listeners?.('error').includes(ignoreLateError)) c.on?.('error', ignoreLateError);
    try {
      c.release(err instanceof Error ? err : err === undefined ? undefined : new Error(String(err)));
    } catch {
      // already released
    }
  }

  #failed(err: unknown): null {
    if (this.#closed || this.#listeners.size === 0 || !this.#runner.pooled) return null;
    this.#failures += 1;
    const delay = backoffDelayMs({ delayMs: 250, maxMs: 30_000 }, this.#failures);
    debug('re-LISTEN in %d ms after: %s', delay, (err as Error)?.message ?? String(err));
    this.#retryTimer?.cancel();
    this.#retryTimer = this.#clock.setTimer(() => {
      this.#retryTimer = null;
      void this.#ensureConnected();
    }, delay);
    return null;
  }

  async #disconnect(): Promise<void> {
    this.#retryTimer?.cancel();
    this.#retryTimer = null;
    await this.#connecting?.catch(() => undefined);
    const client = this.#client;
    this.#client = null;
    if (client) await this.#release(client);
  }

  async #release(client: PoolClientLike | Queryable): Promise<void> {
    // UNLISTEN before the client goes back to the host's pool, or it keeps receiving NOTIFYs.
    const unlisten = this.#runner.pooled ? client.query('UNLISTEN *') : this.#runner.query(`UNLISTEN ${quoteIdent(this.#channel)}`);
    let failure: unknown;
    await unlisten.catch((err: unknown) => {
      failure = err;
    });
    this.#detach(client, failure);
  }
}
