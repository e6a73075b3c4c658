import pg from 'pg';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import { elapsedSince, withDeadline, type ThroughputResult } from './common.js';

export interface GraphileWorkerOptions {
  databaseUrl: string;
  schema: string;
  jobs: number;
  /** `concurrentJobs`: jobs run at once by the one worker pool. */
  concurrency: number;
  timeoutMs: number;
}

/** Quiet: graphile-worker logs every job at debug and its start/stop at info. */
const quiet = new Logger(() => () => {});

/** The batching settings of graphile-worker's own performance page (worker.graphile.org/docs/performance). */
const LOCAL_QUEUE_SIZE = 500;

/**
 * The fastest Postgres-only queue measured here, as a third reference, in its own schema
 * (dropped afterwards), with the settings its performance page benchmarks with: a local
 * queue of 500 jobs fetched and locked per query (`localQueue.size`), batched completion
 * (`completeJobBatchDelay: 0`, `failJobBatchDelay: 0`), prepared statements (its default),
 * `concurrentJobs` = the level measured, a pool of concurrency + 2 (at most 25, as there).
 * Jobs are inserted first (`addJobs`, 1,000 per call), then `run()` drains them.
 * Measured: first task call → the last job's row deleted (graphile-worker deletes a
 * completed job; the table is polled only once every task has been called, so the poll
 * never competes with the drain).
 *
 * Not the same guarantee as warren's: with batched completion a job whose handler
 * finished is still locked until its batch commits, and a crash meanwhile runs it again
 * when its lock expires (4 h by default); nothing is kept of a completed job.
 */
export async function runGraphileWorker(opts: GraphileWorkerOptions): Promise<ThroughputResult> {
  const task = 'noop';
  const admin = new pg.Pool({ connectionString: opts.databaseUrl, max: 1 });
  const maxPoolSize = Math.min(25, opts.concurrency + 2);
  const preset = {
    worker: {
      connectionString: opts.databaseUrl,
      schema: opts.schema,
      concurrentJobs: opts.concurrency,
      maxPoolSize,
      pollInterval: 2000,
      localQueue: { size: LOCAL_QUEUE_SIZE },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
    },
  };
  const utils = await makeWorkerUtils({ connectionString: opts.databaseUrl, schema: opts.schema, logger: quiet });
  let runner: Awaited<ReturnType<typeof run>> | undefined;
  try {
    await utils.migrate();
    const enqueueStart = performance.now();
    for (let i = 0; i < opts.jobs; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, opts.jobs - i) }, (_, k) => ({ identifier: task, payload: { i: i + k } }));
      await utils.addJobs(batch);
    }
    const enqueueMs = elapsedSince(enqueueStart);

    let first = 0;
    let called = 0;
    let allCalled!: () => void;
    const calledAll = new Promise<void>((resolve) => (allCalled = resolve));
    runner = await run({
      preset,
      logger: quiet,
      noHandleSignals: true,
      taskList: {
        [task]: async () => {
          if (first === 0) first = performance.now();
          if (++called === opts.jobs) allCalled();
        },
      },
    });
    const done = (async () => {
      await calledAll;
      for (;;) {
        const { rows } = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${opts.schema}"._private_jobs`);
        if (Number(rows[0]!.n) === 0) return performance.now();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const last = await withDeadline(done, opts.timeoutMs, `graphile-worker concurrency ${opts.concurrency}`);
    const drainMs = last - first;
    return {
      side: `graphile-worker (concurrency ${opts.concurrency}, localQueue ${LOCAL_QUEUE_SIZE})`,
      jobs: opts.jobs,
      concurrency: opts.concurrency,
      enqueueMs,
      drainMs,
      jobsPerSec: (opts.jobs / drainMs) * 1000,
      notes: [
        `own schema ${opts.schema}; concurrentJobs ${opts.concurrency}, maxPoolSize ${maxPoolSize}, localQueue.size ${LOCAL_QUEUE_SIZE}, completeJobBatchDelay 0, failJobBatchDelay 0, pollInterval 2000 ms, prepared statements; task calls ${called}; done = job table empty, polled every 5 ms once every task had been called`,
      ],
    };
  } finally {
    await runner?.stop().catch(() => {});
    await Promise.resolve(utils.release()).catch(() => {});
    await admin.query(`DROP SCHEMA IF EXISTS "${opts.schema}" CASCADE`).catch(() => {});
    await admin.end().catch(() => {});
  }
}
