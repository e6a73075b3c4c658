/**
 * The real-services side of the control contract: a scheduler over the file's own
 * PostgreSQL schema and RabbitMQ scope, with no code-defined job and no worker, so the
 * contract's runs stay as created.
 */
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { migrate } from '../../src/store/migrate.js';
import { cleanupScope } from '../helpers/amqp.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase } from '../helpers/pg.js';

export interface RealScheduler {
  scheduler: Scheduler;
  scope: string;
  close(): Promise<void>;
}

export async function realScheduler(label: string): Promise<RealScheduler> {
  const db = await createTestDatabase(label, 5);
  await migrate(db.pool, { schema: db.schema });
  const scope = uniqueToken(label).replace(/_/g, '-');
  const scheduler = createScheduler({
    pool: db.pool,
    schema: db.schema,
    scope,
    amqpUrl: AMQP_URL,
    jobs: [],
    instanceId: `${label}-scheduler`,
  });
  scheduler.on('error', () => {});
  await scheduler.start();
  return {
    scheduler,
    scope,
    async close() {
      await scheduler.close().catch(() => {});
      await cleanupScope(scope).catch(() => {});
      await db.drop();
    },
  };
}
