import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { deleteScopeTopology } from '../lib/amqp-cleanup.js';
import { TransportProbe } from '../lib/transport-probe.js';
import {
  AmqpTransport,
  PgStore,
  createWorker,
  defineJob,
  migrate,
  publishRuns,
  syncDefinitions,
  workQueueName,
  type NewRun,
  type RunRecord,
} from '../lib/warren.js';
import { summarize, type Summary } from '../lib/stats.js';
import { elapsedSince, withDeadline, type ThroughputResult } from './common.js';
import { DrainProfiler } from '../lib/drain-profiler.js';

export interface WarrenWorkerOptions {
  databaseUrl: string;
  amqpUrl: string;
  /** Used as the scope and the Postgres schema (both fresh, both removed afterwards). */
  token: string;
  jobs: number;
  concurrency: number;
  timeoutMs: number;
  /** warren's work, dead-letter and delay queues. @default 'quorum' (warren's default) */
  queueType?: 'quorum' | 'classic';
  /** The worker's prefetch window. @default the worker's own default, 2 × concurrency */
  prefetch?: number;
  /** Pool size given to the worker. @default concurrency + 2, at most 20 */
  poolSize?: number;
  /**
   * Where the drain's time goes, in the notes: every statement timed on the client, CPU of
   * this process, of its Postgres backends and of RabbitMQ over the drain, WAL and commits.
   */
  profile?: boolean;
}

const SEED_BATCH = 1000;

const fmt = (s: Summary) => `p50 ${s.p50.toFixed(1)} p99 ${s.p99.toFixed(1)} max ${s.max.toFixed(1)}`;

/**
 * warren's worker on the real services. The backlog is prepared the way the scheduler
 * would leave it: run rows inserted (`store.insertRuns`, 1,000 per statement) and their
 * triggers published persistently with confirms through the AmqpTransport
 * (`publishRuns`, which also marks them published). Then `createWorker` (concurrency N,
 * prefetch at its default 2N) drains the queue: per message it validates, claims the run in
 * Postgres (batched), acks, runs the no-op handler and records `succeeded` (batched).
 * Measured: first delivery → the worker's `run:success` for the last of the runs (emitted
 * once the batched completion recording `succeeded` has committed), then checked once in
 * Postgres: every run row must be `succeeded`. (A `count(*)` polled every 20 ms cost the
 * database being timed ~10 ms per check by the end of a drain.)
 * `WARREN_BENCH_PREPARED=0` runs the store with `preparedStatements: false`;
 * `WARREN_BENCH_PROFILE=1` adds where the drain's time went to the notes (DrainProfiler),
 * and `WARREN_BENCH_CPUPROF=<dir>` with it writes a CPU profile of each drain there.
 */
export async function runWarrenWorker(opts: WarrenWorkerOptions): Promise<ThroughputResult> {
  const scope = opts.token;
  const schema = opts.token;
  const pool = new pg.Pool({
    connectionString: opts.databaseUrl,
    max: opts.poolSize ?? Math.min(20, opts.concurrency + 2),
    application_name: opts.token,
  });
  const profiler = opts.profile ? new DrainProfiler(opts.token, process.env.WARREN_BENCH_CPUPROF || undefined) : null;
  pool.on('error', () => {});
  const admin = new pg.Pool({ connectionString: opts.databaseUrl, max: 1 });
  const queueType = opts.queueType ?? 'quorum';
  const transport = new AmqpTransport({ url: opts.amqpUrl, scope, queueType });
  // Per-message timings only when profiling: the peers' sides note the first job and the end, no more.
  const probe = new TransportProbe(transport, { perMessage: opts.profile === true });
  let worker: ReturnType<typeof createWorker> | undefined;
  try {
    await migrate(pool, { schema });
    const preparedStatements = process.env.WARREN_BENCH_PREPARED !== '0';
    profiler?.watch();
    const store = new PgStore({ pool, schema, preparedStatements });
    // allowAll: thousands of runs of one job at once is the point here (the default overlap, skip, would record them `skipped`).
    const noop = defineJob({ id: 'noop', queue: 'noop', overlap: 'allowAll', retry: { maxAttempts: 1 } });
    const [record] = await syncDefinitions(store, scope, [noop], new Date());
    const queue = workQueueName(scope, 'noop');
    await transport.waitForConnect();
    await transport.assertQueue(queue);

    const enqueueStart = performance.now();
    const base = Date.now();
    for (let i = 0; i < opts.jobs; i += SEED_BATCH) {
      const now = new Date();
      const runs: NewRun[] = Array.from({ length: Math.min(SEED_BATCH, opts.jobs - i) }, (_, k) => ({
        runId: randomUUID(),
        jobId: 'noop',
        // (scope, job_id, scheduled_for) is unique: one millisecond apart.
        scheduledFor: new Date(base + i + k),
        triggerSource: 'manual',
        params: {},
        epoch: record!.epoch,
        status: 'pending',
        staleAt: null,
        availableAt: now,
      }));
      const inserted: RunRecord[] = await store.insertRuns(scope, runs, now);
      const { failed } = await publishRuns(transport, store, inserted, () => record!, Date.now());
      if (failed.length > 0) throw new Error(`${failed.length} triggers failed to publish: ${String(failed[0]!.error)}`);
    }
    const enqueueMs = elapsedSince(enqueueStart);

    let handled = 0;
    worker = createWorker({
      store,
      transport: probe,
      scope,
      concurrency: opts.concurrency,
      ...(opts.prefetch === undefined ? {} : { prefetch: opts.prefetch }),
      jobs: [{ definition: noop, handler: () => void handled++ }],
    });
    worker.on('error', (err) => console.error('warren worker error:', err.message));
    // Where the time goes, per run: delivery → handler start (validate + batched claim + ack)
    // and handler start → success event (handler + batched completion).
    const startedAt = new Map<string, number>();
    const toStart: number[] = [];
    const toSuccess: number[] = [];
    if (opts.profile)
      worker.on('run:start', (run) => {
        const now = performance.now();
        startedAt.set(run.runId, now);
        const delivered = probe.deliveredAt.get(run.runId);
        if (delivered !== undefined) toStart.push(now - delivered);
      });
    // Done = as many run:success events as runs (a counter, as cheap as the peers' bookkeeping):
    // a duplicate event would end the clock early, and the count in Postgres below would fail.
    let succeeded = 0;
    let allSucceeded!: (at: number) => void;
    const done = new Promise<number>((resolve) => (allSucceeded = resolve));
    worker.on('run:success', (run) => {
      if (opts.profile) {
        const started = startedAt.get(run.runId);
        if (started !== undefined) toSuccess.push(performance.now() - started);
      }
      if (++succeeded === opts.jobs) allSucceeded(performance.now());
    });
    await profiler?.begin(admin);
    void worker.start();
    const last = await withDeadline(done, opts.timeoutMs, `warren worker concurrency ${opts.concurrency}`);
    const drainMs = last - probe.firstDeliveryAt;
    const profileNotes = profiler ? await profiler.end(admin, opts.jobs) : [];
    // The events are the worker's word: the database has the last one, once, after the clock stopped.
    const { rows } = await admin.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${schema}".runs WHERE scope = $1 AND status = 'succeeded'`,
      [scope],
    );
    if (Number(rows[0]!.n) !== opts.jobs)
      throw new Error(`warren worker: ${succeeded} run:success events but ${rows[0]!.n} of ${opts.jobs} run rows succeeded`);
    const stats = worker.stats();
    return {
      side: `warren createWorker (concurrency ${opts.concurrency})`,
      jobs: opts.jobs,
      concurrency: opts.concurrency,
      enqueueMs,
      drainMs,
      jobsPerSec: (opts.jobs / drainMs) * 1000,
      notes: [
        `${queueType} work queue, Postgres schema ${schema}, preparedStatements ${preparedStatements}; done = run:success for all ${opts.jobs} runs, then ${rows[0]!.n} rows succeeded in Postgres; enqueue = insertRuns + publishRuns (confirms) in batches of ${SEED_BATCH}`,
        `handler calls ${handled}, deliveries ${probe.deliveries}, stats ${JSON.stringify(stats)}`,
        ...(opts.profile
          ? [`delivery → handler start ms ${fmt(summarize(toStart))}; handler start → run:success ms ${fmt(summarize(toSuccess))}`]
          : []),
        ...profileNotes,
      ],
    };
  } finally {
    await worker?.close().catch(() => {});
    await transport.close().catch(() => {});
    await deleteScopeTopology(opts.amqpUrl, scope).catch((err: Error) => console.error('cleanup (RabbitMQ):', err.message));
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((err: Error) => console.error('cleanup (Postgres):', err.message));
    await admin.end().catch(() => {});
    await pool.end().catch(() => {});
  }
}
