/**
 * Per-file fixture for the adapter tests: a real scheduler (leader) and worker over the
 * file's own PostgreSQL schema and RabbitMQ scope, and cleanup of everything declared.
 */
import { defineJob } from '../../src/define/define-job.js';
import type { JobContext, JobDefinition, JobHandler } from '../../src/define/types.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { cleanupScope } from '../helpers/amqp.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

/** Yearly: no slot comes due while a test runs (so no run but the test's own), and backfill has known slots. */
export const report = defineJob({ id: 'report', queue: 'reports', schedule: { cron: '0 0 1 1 *' }, description: 'yearly report' });

export interface Execution {
  jobId: string;
  runId: string;
  trigger: string;
  params: Record<string, unknown>;
}

export interface AdapterFixture {
  db: TestDatabase;
  scope: string;
  store: PgStore;
  scheduler: Scheduler;
  worker: Worker;
  executions: Execution[];
  teardown(): Promise<void>;
}

/** `extra`: more code-defined jobs, each with its own handler, on the same scheduler and worker. */
export async function adapterFixture(
  label: string,
  extra: Array<{ definition: JobDefinition<any>; handler: JobHandler<any> }> = [],
): Promise<AdapterFixture> {
  const db = await createTestDatabase(label, 6);
  await migrate(db.pool, { schema: db.schema });
  const scope = uniqueToken(label).replace(/_/g, '-');
  const store = new PgStore({ pool: db.pool, schema: db.schema });
  const executions: Execution[] = [];
  const handler = (ctx: JobContext) => {
    executions.push({ jobId: ctx.jobId, runId: ctx.runId, trigger: ctx.triggerSource, params: ctx.params });
  };
  const scheduler = createScheduler({
    pool: db.pool,
    schema: db.schema,
    scope,
    amqpUrl: AMQP_URL,
    jobs: [report, ...extra.map((e) => e.definition)],
    instanceId: `${label}-scheduler`,
    safetyTick: '1s',
    outboxGrace: '1s',
  });
  scheduler.on('error', () => {});
  const worker = createWorker({
    pool: db.pool,
    schema: db.schema,
    amqpUrl: AMQP_URL,
    scope,
    jobs: [{ definition: report, handler }, ...extra],
  });
  worker.on('error', () => {});
  await scheduler.start();
  await worker.start();
  return {
    db,
    scope,
    store,
    scheduler,
    worker,
    executions,
    async teardown() {
      await scheduler.close().catch(() => {});
      await worker.close().catch(() => {});
      await store.close().catch(() => {});
      await cleanupScope(scope).catch(() => {});
      await db.drop();
    },
  };
}
