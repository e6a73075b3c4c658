import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { elapsedSince, withDeadline, type ThroughputResult } from './common.js';

export interface PgBossOptions {
  databaseUrl: string;
  schema: string;
  jobs: number;
  /**
   * Jobs in flight: one pg-boss worker (`localConcurrency: 1`) fetching `batchSize =
   * concurrency` jobs at a time, completed together, in burst mode (`burstWhenBatchFull`:
   * fetch again at once while batches come back full; pg-boss ignores it at batchSize 1
   * and otherwise waits its 0.5 s minimum polling interval after every fetch).
   */
  concurrency: number;
  timeoutMs: number;
}

/**
 * A Postgres-only queue as a second reference, in its own schema (dropped afterwards).
 * Jobs are inserted first (`insert`, 1,000 per statement), then `work()` drains them.
 * Measured: first handler call → the last job's row `completed` (polled every 20 ms).
 */
export async function runPgBoss(opts: PgBossOptions): Promise<ThroughputResult> {
  const queue = 'noop';
  const boss = new PgBoss({ connectionString: opts.databaseUrl, schema: opts.schema, max: 4, supervise: false, schedule: false });
  boss.on('error', (err) => console.error('pg-boss error:', err.message));
  const admin = new pg.Pool({ connectionString: opts.databaseUrl, max: 1 });
  try {
    await boss.start();
    await boss.createQueue(queue);
    const enqueueStart = performance.now();
    for (let i = 0; i < opts.jobs; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, opts.jobs - i) }, (_, k) => ({ data: { i: i + k } }));
      await boss.insert(queue, batch);
    }
    const enqueueMs = elapsedSince(enqueueStart);

    let first = 0;
    await boss.work(
      queue,
      { localConcurrency: 1, batchSize: opts.concurrency, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
      async () => {
        if (first === 0) first = performance.now();
      },
    );
    const done = (async () => {
      for (;;) {
        const { rows } = await admin.query<{ n: string }>(
          `SELECT count(*) AS n FROM "${opts.schema}".job WHERE name = $1 AND state = 'completed'`,
          [queue],
        );
        if (Number(rows[0]!.n) >= opts.jobs) return performance.now();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const last = await withDeadline(done, opts.timeoutMs, `pg-boss concurrency ${opts.concurrency}`);
    const drainMs = last - first;
    return {
      side: `pg-boss (batchSize ${opts.concurrency}, burst)`,
      jobs: opts.jobs,
      concurrency: opts.concurrency,
      enqueueMs,
      drainMs,
      jobsPerSec: (opts.jobs / drainMs) * 1000,
      notes: [`own schema ${opts.schema}, polling 0.5 s, completion observed by polling the job table every 20 ms`],
    };
  } finally {
    await boss.stop({ graceful: false, timeout: 5000 }).catch(() => {});
    await admin.query(`DROP SCHEMA IF EXISTS "${opts.schema}" CASCADE`).catch(() => {});
    await admin.end().catch(() => {});
  }
}
