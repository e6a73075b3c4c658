/**
 * Per-file fixture for the worker tests: the file's own Postgres schema (migrated), its
 * own scope (so queues and the delay topology never clash), a PgStore and an AmqpTransport
 * for the test's own publishing and inspection, and cleanup of everything declared.
 */
import type pg from 'pg';
import { AmqpTransport } from '../../src/broker/amqp-transport.js';
import { publishRuns } from '../../src/scheduler/publish-runs.js';
import type { JobDefinition } from '../../src/define/types.js';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import type { NewRun, RunRecord, Store } from '../../src/store/port.js';
import { syncDefinitions } from '../../src/store/sync-definitions.js';
import { uuidv5 } from '../../src/util/uuid.js';
import { deadQueueName, workQueueName } from '../../src/names.js';
import type { Worker } from '../../src/worker/index.js';
import { cleanupScope, openAdmin, type AmqpAdmin } from '../helpers/amqp.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

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
  workQueue(definition: JobDefinition<any>): string;
  deadQueue(definition: JobDefinition<any>): string;
  teardown(): Promise<void>;
}

let counter = 0;

export async function workerFixture(label: string): Promise<WorkerFixture> {
  const db = await createTestDatabase(label);
  await migrate(db.pool, { schema: db.schema });
  const scope = uniqueToken(label).replace(/_/g, '-').slice(0, 40);
  const store = new PgStore({ pool: db.pool, schema: db.schema });
  const transport = new AmqpTransport({ url: AMQP_URL, scope });
  transport.on('error', () => {});
  const admin = await openAdmin();
  const workers: Worker[] = [];
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
      const now = new Date();
      const [job] = await syncDefinitions(store, scope, [definition], now);
      await transport.assertQueue(workQueueName(scope, definition.config.queue));
      const rows: NewRun[] = runs.map((r) => ({
        runId: uuidv5(`${scope}|test|${++counter}|${Math.random()}`),
        jobId: definition.id,
        scheduledFor: new Date(now.getTime() + counter),
        triggerSource: 'manual',
        params: {},
        epoch: job!.epoch,
        status: 'pending',
        staleAt: null,
        availableAt: now,
        ...r,
      }));
      const inserted = await store.insertRuns(scope, rows, now);
      const { failed } = await publishRuns(transport, store, inserted, () => job!, Date.now());
      if (failed.length > 0) throw failed[0]!.error;
      return inserted;
    },
    async teardown() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await transport.close();
      await admin.close();
      await store.close();
      await cleanupScope(scope).catch(() => {});
      await db.drop();
    },
  };
  return fixture;
}

/** Run rows of a job, by status. */
export async function runsOf(store: Store, scope: string, jobId: string): Promise<RunRecord[]> {
  return store.listRuns(scope, { jobId, limit: 10_000 });
}
