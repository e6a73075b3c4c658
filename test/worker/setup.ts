/**
 * Per-file fixture for the worker tests: the file's own Postgres schema (migrated), its
 * own scope (so queues and the delay topology never clash), a PgStore and an AmqpTransport
 * for the test's own publishing and inspection, and cleanup of everything declared.
 */
import type pg from 'pg';
import { AmqpTransport } from '../../src/broker/amqp-transport.js';
import type { JobDefinition } from '../../src/define/types.js';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import type { NewRun, RunRecord, Store } from '../../src/store/port.js';
import { deadQueueName, workQueueName } from '../../src/names.js';
import type { Worker } from '../../src/worker/index.js';
import { cleanupScope, openAdmin, type AmqpAdmin } from '../helpers/amqp.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { enqueueRuns } from '../helpers/runs.js';

export interface WorkerFixture {
  db: TestDatabase;
  pool: pg.Pool;
  schema: string;
  scope: string;
  store: PgStore;
  /** The test's own publisher (the workers under test build their own). */
  transport: AmqpTransport;
  admin: AmqpAdmin;
  workers: Worker[];
  /** Registers a worker for closing in teardown. */
  track<W extends Worker>(worker: W): W;
  /** Inserts pending runs of `definition` (syncing it first) and publishes them. */
  enqueue(definition: JobDefinition<any>, runs: Array<Partial<NewRun>>): Promise<RunRecord[]>;
  /** Runs `cleanup` (a proxy's close) at the end of teardown. */
  defer(cleanup: () => Promise<void>): void;
  workQueue(definition: JobDefinition<any>): string;
  deadQueue(definition: JobDefinition<any>): string;
  teardown(): Promise<void>;
}

export async function workerFixture(label: string): Promise<WorkerFixture> {
  const db = await createTestDatabase(label);
  await migrate(db.pool, { schema: db.schema });
  const scope = uniqueToken(label).replace(/_/g, '-').slice(0, 40);
  const store = new PgStore({ pool: db.pool, schema: db.schema });
  const transport = new AmqpTransport({ url: AMQP_URL, scope });
  transport.on('error', () => {});
  const admin = await openAdmin();
  const workers: Worker[] = [];
  const deferred: Array<() => Promise<void>> = [];
  const fixture: WorkerFixture = {
    db,
    pool: db.pool,
    schema: db.schema,
    scope,
    store,
    transport,
    admin,
    workers,
    track(worker) {
      workers.push(worker);
      return worker;
    },
    workQueue: (d) => workQueueName(scope, d.config.queue),
    deadQueue: (d) => deadQueueName(workQueueName(scope, d.config.queue)),
    async enqueue(definition, runs) {
      await transport.assertQueue(workQueueName(scope, definition.config.queue));
      return (await enqueueRuns({ store, transport, scope, now: Date.now() }, definition, runs)).runs;
    },
    defer(cleanup) {
      deferred.push(cleanup);
    },
    async teardown() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await transport.close();
      await admin.close();
      await store.close();
      await cleanupScope(scope).catch(() => {});
      await db.drop();
      for (const cleanup of deferred) await cleanup().catch(() => {});
    },
  };
  return fixture;
}

/** Run rows of a job, by status. */
export async function runsOf(store: Store, scope: string, jobId: string): Promise<RunRecord[]> {
  return store.listRuns(scope, { jobId, limit: 10_000 });
}
