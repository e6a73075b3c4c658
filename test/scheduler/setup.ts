/**
 * Per-file fixture for the scheduler tests: the file's own Postgres schema (migrated), its
 * own scope, pools with their own `application_name` (so a test can find and kill exactly
 * one instance's backends), optional TCP proxies in front of Postgres (to keep an instance
 * cut off after its backends were killed), and cleanup of everything declared.
 */
import pg from 'pg';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import type { RunRecord } from '../../src/store/port.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from '../../src/scheduler/index.js';
import { cleanupScope, openAdmin, type AmqpAdmin } from '../helpers/amqp.js';
import { AMQP_URL, DATABASE_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** A scheduler on its own pool behind a TCP proxy: pause and cut the proxy to keep it off the database. */
export interface ProxiedScheduler {
  /** Its instance id and its pool's application_name (for killBackends). */
  name: string;
  scheduler: Scheduler;
  proxy: TcpProxy;
}

export interface SchedulerFixture {
  db: TestDatabase;
  schema: string;
  scope: string;
  /** A store on the fixture's own pool, for the test's inspection. */
  store: PgStore;
  admin: AmqpAdmin;
  /** A pool whose backends carry `application_name = name`; `viaProxy` routes it through a TCP proxy. */
  pool(name: string, options?: { viaProxy?: boolean; max?: number }): Promise<{ pool: pg.Pool; proxy: TcpProxy | null }>;
  /**
   * `count` schedulers of this scope (`{scope}-s1`, ...), not started, each on its own pool
   * behind a TCP proxy, their `error` events ignored; the test closes them.
   */
  proxiedSchedulers(count: number, options: Partial<SchedulerOptions>): Promise<ProxiedScheduler[]>;
  /** pg_terminate_backend of every backend whose application_name is `name`. */
  killBackends(name: string): Promise<number>;
  /** Also cleans up another scope's queues (for tests that use a second scope). */
  alsoScope(scope: string): void;
  runsOf(jobId: string, scope?: string): Promise<RunRecord[]>;
  teardown(): Promise<void>;
}

export async function schedulerFixture(label: string): Promise<SchedulerFixture> {
  const db = await createTestDatabase(label, 5);
  await migrate(db.pool, { schema: db.schema });
  const scope = uniqueToken(label);
  const store = new PgStore({ pool: db.pool, schema: db.schema });
  const admin = await openAdmin();
  const pools: pg.Pool[] = [];
  const proxies: TcpProxy[] = [];
  const scopes = [scope];
  const fixture: SchedulerFixture = {
    db,
    schema: db.schema,
    scope,
    store,
    admin,
    async pool(name, options = {}) {
      const url = new URL(DATABASE_URL);
      let proxy: TcpProxy | null = null;
      if (options.viaProxy) {
        proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
        proxies.push(proxy);
        url.hostname = '127.0.0.1';
        url.port = String(proxy.port);
      }
      const pool = new pg.Pool({
        connectionString: url.toString(),
        max: options.max ?? 4,
        application_name: name,
        connectionTimeoutMillis: 3000,
      });
      // Killed backends surface as idle-client errors: expected in these tests.
      pool.on('error', () => {});
      pools.push(pool);
      return { pool, proxy };
    },
    async proxiedSchedulers(count, options) {
      const made: ProxiedScheduler[] = [];
      for (let i = 1; i <= count; i++) {
        const name = `${scope}-s${i}`;
        const { pool, proxy } = await fixture.pool(name, { viaProxy: true });
        const scheduler = createScheduler({ pool, schema: db.schema, scope, amqpUrl: AMQP_URL, instanceId: name, ...options });
        scheduler.on('error', () => {});
        made.push({ name, scheduler, proxy: proxy! });
      }
      return made;
    },
    async killBackends(name) {
      const { rows } = await db.pool.query(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
        [name],
      );
      return rows.length;
    },
    alsoScope(other) {
      scopes.push(other);
    },
    async runsOf(jobId, inScope = scope) {
      const runs = await store.listRuns(inScope, { jobId, limit: 10_000 });
      return runs.sort((a, b) => a.scheduledFor.getTime() - b.scheduledFor.getTime());
    },
    async teardown() {
      await store.close().catch(() => {});
      await Promise.all(pools.map((p) => p.end().catch(() => {})));
      await Promise.all(proxies.map((p) => p.close().catch(() => {})));
      await admin.close();
      for (const s of scopes) await cleanupScope(s).catch(() => {});
      await db.drop();
    },
  };
  return fixture;
}
