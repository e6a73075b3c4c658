/* eslint-disable @typescript-eslint/no-explicit-any -- pg result rows are untyped: their columns are read by name where they are mapped */
/**
 * The one database port (pg-boss's `executeSql` idea): anything with `query(text, values)`. A `pg.Pool`
 * (or any pool with `connect()` handing out clients with `release()`) gives real
 * transactions on a checked-out client; a bare client runs its transactions one at a
 * time, since statements of two interleaved transactions on one connection would mix.
 */
import { createHash } from 'node:crypto';

export interface QueryResultLike<R = Record<string, unknown>> {
  rows: R[];
  rowCount?: number | null;
}

/** node-postgres's query config: with a `name`, the statement is prepared once per connection. */
export interface QueryConfigLike {
  name?: string;
  text: string;
  values?: unknown[];
}

/**
 * A connection or pool: what warren needs to run SQL. The config form (a `pg.Pool`,
 * `pg.Client` and `PoolClient` all take it) is used for named prepared statements
 * (PgStore's `preparedStatements`).
 */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<QueryResultLike<any>>;
  query(config: QueryConfigLike): Promise<QueryResultLike<any>>;
}

/** A client checked out of a pool. */
export interface PoolClientLike extends Queryable {
  release(err?: Error | boolean): void;
  on?(event: string, listener: (...args: any[]) => void): unknown;
  removeListener?(event: string, listener: (...args: any[]) => void): unknown;
  listeners?(event: string): unknown[];
}

/** A pool: `connect()` resolves to a client that must be released (node-postgres also takes a callback). */
export interface PoolLike extends Queryable {
  connect(): Promise<PoolClientLike>;
  connect(callback: (err: Error | undefined, client?: PoolClientLike) => void): void;
}

/**
 * Checks a client out with `onError` listening from its first instant. node-postgres can
 * emit a connection error on a fresh client in the same socket read that completes its
 * startup (ReadyForQuery, then the FATAL of a `pg_terminate_backend` or a server shutdown,
 * in one chunk on a busy host): before an awaited `connect()` resumes, so a listener
 * attached after the await is too late and the unheard error exits the host. The callback
 * form runs inside that read. Found by the chaos suite (test/chaos, Postgres bursts).
 */
export function connectListening(pool: PoolLike, onError: (err: Error) => void): Promise<PoolClientLike> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const take = (err: unknown, client?: PoolClientLike) => {
      if (settled) return;
      settled = true;
      if (err || !client) {
        reject(err ?? new Error('warren: pool.connect() gave no client'));
        return;
      }
      client.on?.('error', onError);
      resolve(client);
    };
    const returned = pool.connect(take) as unknown;
    // A pool whose connect() takes no callback returns its promise instead.
    if (returned !== null && typeof (returned as Promise<PoolClientLike> | undefined)?.then === 'function') {
      (returned as Promise<PoolClientLike>).then(
        (client) => take(undefined, client),
        (err: unknown) => take(err),
      );
    }
  });
}

/**
 * True for a pool. A `pg.Client` also has `connect()` (which opens its socket and resolves
 * to nothing), so a client is recognised by the properties only a client has.
 */
export function isPool(db: Queryable): db is PoolLike {
  const candidate = db as unknown as Record<string, unknown>;
  if (typeof candidate.connect !== 'function') return false;
  if (typeof candidate.release === 'function') return false; // a checked-out PoolClient
  if ('connectionParameters' in candidate || 'processID' in candidate) return false; // a pg.Client
  return true;
}

type ErrorSink = (err: Error) => void;
interface ErrorGuard {
  sinks: Set<ErrorSink>;
  listener: ErrorSink;
}
const guards = new WeakMap<object, ErrorGuard>();

/**
 * A `pg.Pool` emits `error` for an idle client whose backend died (pg_terminate_backend, a
 * server restart, a cut connection), and a `pg.Client` for its own connection; with no
 * listener Node throws it and the host process exits, the seed's "service died at a
 * dependency's hiccup". While warren uses a pool or client it listens (one listener per
 * pool however many stores share it), hands the error to `sink` (warren's events), and the
 * pool drops the dead client by itself. Returns the release; the last one detaches.
 */
export function guardConnectionErrors(db: Queryable, sink: ErrorSink): () => void {
  const emitter = db as unknown as {
    on?: (event: string, fn: ErrorSink) => unknown;
    removeListener?: (event: string, fn: ErrorSink) => unknown;
  };
  if (typeof emitter.on !== 'function' || typeof emitter.removeListener !== 'function') return () => {};
  let guard = guards.get(db);
  if (guard === undefined) {
    const sinks = new Set<ErrorSink>();
    const listener: ErrorSink = (err) => {
      for (const each of sinks) {
        try {
          each(err);
        } catch {
          // A throwing sink must not turn the error back into a crash.
        }
      }
    };
    guard = { sinks, listener };
    guards.set(db, guard);
    emitter.on('error', listener);
  }
  const own = guard;
  const entry: ErrorSink = (err) => sink(err);
  own.sinks.add(entry);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    own.sinks.delete(entry);
    if (own.sinks.size > 0) return;
    emitter.removeListener!('error', own.listener);
    guards.delete(db);
  };
}

/** Quotes an identifier (the schema name) for SQL text. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A signed 64-bit advisory lock key (as a decimal string for `$n::bigint`) from a name. */
export function advisoryKey(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest().readBigInt64BE(0).toString();
}

/**
 * Runs statements and transactions on a pool or a bare client. On a pool a transaction
 * holds one checked-out client (released, or destroyed when its connection failed); on a
 * bare client every statement and transaction waits its turn.
 */
export class SqlRunner {
  readonly db: Queryable;
  readonly pooled: boolean;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(db: Queryable) {
    this.db = db;
    this.pooled = isPool(db);
  }

  /** With a `name`, a named prepared statement (see `sendQuery`). */
  query<R = Record<string, any>>(text: string, values?: unknown[], name?: string): Promise<QueryResultLike<R>> {
    if (this.pooled) return sendQuery(this.db, text, values, name);
    return this.#serial(() => sendQuery(this.db, text, values, name));
  }

  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    if (!this.pooled) return this.#serial(() => runTx(this.db, fn));
    return (async () => {
      let broken: Error | undefined;
      // node-postgres emits a connection error (a reset, pg_terminate_backend) on a
      // checked-out client, where no pool listener is attached: unheard, it would crash
      // the host. The statement in flight rejects anyway; remember the client is broken.
      const onError = (err: Error) => {
        broken = err;
      };
      const client = await connectListening(this.db as PoolLike, onError);
      try {
        return await runTx(client, fn, () => {
          broken ??= new Error('warren: connection failed during a transaction');
        });
      } finally {
        client.release(broken);
        // A broken client is destroyed and may still emit: keep listening. A healthy one
        // goes back to the pool, which listens for itself.
        if (!broken) client.removeListener?.('error', onError);
      }
    })();
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * Sends a statement; with a `name`, as node-postgres's named prepared statement: parsed and
 * planned once per connection (node-postgres remembers the name per client), afterwards only
 * Bind/Execute, which spares Postgres the parse/plan work that dominates short statements.
 */
export function sendQuery<R = Record<string, any>>(
  db: Queryable,
  text: string,
  values?: unknown[],
  name?: string,
): Promise<QueryResultLike<R>> {
  if (name === undefined) return db.query(text, values);
  return db.query(values === undefined ? { name, text } : { name, text, values });
}

async function runTx<T>(client: Queryable, fn: (q: Queryable) => Promise<T>, onBroken?: () => void): Promise<T> {
  try {
    await client.query('BEGIN');
  } catch (err) {
    onBroken?.();
    throw err;
  }
  try {
    const value = await fn(client);
    await client.query('COMMIT');
    return value;
  } catch (err) {
    // A failed ROLLBACK means the connection itself is gone: the pool must not reuse it.
    await client.query('ROLLBACK').catch(() => onBroken?.());
    throw err;
  }
}

/** A SQLSTATE, when the error carries one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
