/**
 * list() builds every status line from one store query (Store.runSummaries), not two per
 * job, and its counts are the store's: live running runs and failures among the last 20.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import type { Store } from '../../src/store/port.js';
import { uuidv5 } from '../../src/util/uuid.js';
import { uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

let db: TestDatabase;
let store: PgStore;
let scheduler: Scheduler;
const scope = uniqueToken('ctl_list').replace(/_/g, '-');
const calls: string[] = [];

/** The store with every call recorded by method name. */
function counted(target: Store): Store {
  return new Proxy(target, {
    get(t, key) {
      const value = Reflect.get(t, key, t) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

beforeAll(async () => {
  db = await createTestDatabase('ctl_list', 3);
  await migrate(db.pool, { schema: db.schema });
  store = new PgStore({ pool: db.pool, schema: db.schema });
  scheduler = createScheduler({ store: counted(store), scope, role: 'control-only', jobs: [] });
  await scheduler.start();
});

afterAll(async () => {
  await scheduler?.close();
  await store?.close();
  await db?.drop();
});

it('list() of many jobs reads their runs in one store call, with the right counts', async () => {
  const ids = Array.from({ length: 6 }, (_, i) => `job-${i}`);
  for (const id of ids) await scheduler.upsert({ id, queue: 'q', schedule: { cron: '0 0 1 1 *' } });
  const job = (await store.getJob(scope, 'job-0'))!;
  const now = new Date();
  const run = (name: string, status: 'pending' | 'expired') => ({
    runId: uuidv5(`${scope}|${name}`),
    jobId: 'job-0',
    scheduledFor: new Date(now.getTime() - 3_600_000 - name.length * 60_000),
    triggerSource: 'manual' as const,
    params: {},
    epoch: job.epoch,
    status,
    staleAt: null,
    availableAt: new Date(now.getTime() - 3_600_000),
  });
  await store.insertRuns(scope, [run('a', 'expired'), run('bb', 'expired'), run('ccc', 'pending')], new Date(now.getTime() - 1000));
  const [claimed] = await store.claimRuns([{ runId: uuidv5(`${scope}|ccc`), attempt: 1 }], { now, leaseMs: 600_000, workerId: 'w' });
  expect(claimed?.outcome).toBe('claimed');

  calls.length = 0;
  const lines = await scheduler.list();
  expect(calls).toEqual(['listJobs', 'runSummaries']);
  expect(lines.map((l) => l.id).sort()).toEqual(ids);
  expect(lines.find((l) => l.id === 'job-0')).toMatchObject({ running: 1, recentFailures: 2 });
  expect(lines.filter((l) => l.id !== 'job-0').every((l) => l.running === 0 && l.recentFailures === 0)).toBe(true);

  // get() builds its line the same way.
  calls.length = 0;
  expect(await scheduler.get('job-0')).toMatchObject({ running: 1, recentFailures: 2 });
  expect(calls).toEqual(['getJob', 'runSummaries']);
});
