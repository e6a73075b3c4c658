/**
 * A TCP proxy in front of the shared PostgreSQL, for "database unreachable" tests: a pool
 * built from `connectionString` goes through it, so `pause()` refuses new connections and
 * `cutAll()` breaks live ones while the shared server keeps running.
 */
import pg from 'pg';
import { DATABASE_URL } from './env.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

export interface PgProxy extends TcpProxy {
  /** DATABASE_URL with host and port pointing at the proxy. */
  readonly connectionString: string;
  /** A pool through the proxy; its idle-client errors are swallowed (a cut must not crash the runner). */
  pool(max?: number): pg.Pool;
}

export async function startPgProxy(options: { paused?: boolean } = {}): Promise<PgProxy> {
  const target = new URL(DATABASE_URL);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) }, options);
  const connectionString = proxy.url(DATABASE_URL);
  const pools: pg.Pool[] = [];
  return Object.assign(Object.create(proxy) as TcpProxy, {
    connectionString,
    pool(max = 5) {
      const p = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 2000 });
      p.on('error', () => {});
      pools.push(p);
      return p;
    },
    async close() {
      await Promise.all(pools.map((p) => p.end().catch(() => {})));
      await proxy.close();
    },
  });
}
