/**
 * One process of the cluster run (bench/cluster.ts): a scheduler or a worker of warren (from
 * the working tree's source), connected to the cluster through a list of node URLs. Prints
 * one JSON line per event: {ready}, {ran: runId, job, scheduledFor, attempt} (worker),
 * {leading} (scheduler), {broker: 'connect' | 'disconnect'}; closes gracefully on SIGTERM.
 *
 * Usage: node --import tsx bench/lib/cluster-child.ts '<json ClusterChildConfig>'
 */
import pg from 'pg';
import { createScheduler, createWorker, defineJob } from '../../src/index.js';

export interface ClusterChildConfig {
  role: 'worker' | 'scheduler';
  databaseUrl: string;
  amqpUrls: string[];
  schema: string;
  scope: string;
  instanceId: string;
  jobs: number;
  every: string;
}

/** The run's jobs: every `every`, one queue each; a trigger held up by a failover still runs (staleAfter). */
export function clusterJobs(count: number, every: string) {
  return Array.from({ length: count }, (_, i) =>
    defineJob({ id: `beat-${i}`, queue: `beat-${i}`, schedule: { every }, staleAfter: '2m', overlap: 'allowAll' }),
  );
}

const cfg = JSON.parse(process.argv[2]!) as ClusterChildConfig;
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ at: Date.now(), ...line })}\n`);
const pool = new pg.Pool({ connectionString: cfg.databaseUrl, application_name: `warren-cluster-${cfg.instanceId}`, max: 4 });
pool.on('error', (err) => say({ poolError: err.message }));
const jobs = clusterJobs(cfg.jobs, cfg.every);

let close: () => Promise<void>;
if (cfg.role === 'worker') {
  const worker = createWorker({
    pool,
    schema: cfg.schema,
    amqpUrl: cfg.amqpUrls,
    scope: cfg.scope,
    workerId: cfg.instanceId,
    concurrency: 4,
  });
  for (const job of jobs) {
    worker.handle(job, async ({ runId, scheduledFor, attempt }) => {
      say({ ran: runId, job: job.id, scheduledFor: scheduledFor?.toISOString() ?? null, attempt });
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
  }
  worker.on('error', (err) => say({ error: String((err as Error)?.message ?? err) }));
  await worker.start();
  await worker.ready({ timeout: '2m' });
  close = () => worker.close();
} else {
  const scheduler = createScheduler({
    pool,
    schema: cfg.schema,
    amqpUrl: cfg.amqpUrls,
    scope: cfg.scope,
    instanceId: cfg.instanceId,
    jobs,
    migrate: false,
  });
  scheduler.on('leader:gained', () => say({ leading: true }));
  scheduler.on('leader:lost', () => say({ leading: false }));
  scheduler.on('error', (err) => say({ error: String((err as Error)?.message ?? err) }));
  await scheduler.start();
  await scheduler.ready({ timeout: '2m' });
  close = () => scheduler.close();
}
say({ ready: true });
process.once('SIGTERM', () => {
  void close()
    .then(() => pool.end())
    .then(() => {
      say({ closed: true });
      process.exit(0);
    });
});
