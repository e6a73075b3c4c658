/**
 * A process to `kill -9` (test/scheduler/liveness.test.ts, bench/liveness.ts): a worker
 * whose first attempt of `slow` never ends, or a scheduler leading an every-second `beat`.
 * Prints one JSON line per event: {ready}, {running: runId, attempt} (worker),
 * {leading: fenceEpoch}, {published: runId, scheduledFor} (scheduler).
 *
 * Usage: node --import tsx liveness-child.ts '<json LivenessChildConfig>'
 */
import pg from 'pg';
import { createScheduler, createWorker } from '../../src/index.js';
import { aheadJob, beatJob, slowJob } from './liveness-jobs.js';

export interface LivenessChildConfig {
  role: 'worker' | 'scheduler';
  databaseUrl: string;
  amqpUrl: string;
  schema: string;
  scope: string;
  instanceId: string;
  applicationName: string;
  liveness: boolean;
  /** The worker's run lease or the scheduler's leader lease. */
  leaseTtl: string;
  /** The scheduler's job (default `beat`) and look-ahead (default the scheduler's). */
  job?: 'beat' | 'ahead';
  lookAhead?: string;
}

const cfg = JSON.parse(process.argv[2]!) as LivenessChildConfig;
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const pool = new pg.Pool({ connectionString: cfg.databaseUrl, application_name: cfg.applicationName, max: 4 });

if (cfg.role === 'worker') {
  const worker = createWorker({
    pool,
    schema: cfg.schema,
    amqpUrl: cfg.amqpUrl,
    scope: cfg.scope,
    workerId: cfg.instanceId,
    leaseTtl: cfg.leaseTtl,
    liveness: cfg.liveness,
  });
  worker.handle(slowJob, async ({ runId, attempt, signal }) => {
    say({ running: runId, attempt });
    // Works until the process is killed.
    await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  });
  await worker.start();
  await worker.ready();
} else {
  const scheduler = createScheduler({
    pool,
    schema: cfg.schema,
    amqpUrl: cfg.amqpUrl,
    scope: cfg.scope,
    instanceId: cfg.instanceId,
    jobs: [cfg.job === 'ahead' ? aheadJob : beatJob],
    leaseTtl: cfg.leaseTtl,
    ...(cfg.lookAhead === undefined ? {} : { lookAhead: cfg.lookAhead }),
    liveness: cfg.liveness,
    migrate: false,
  });
  scheduler.on('leader:gained', (fence) => say({ leading: fence.epoch }));
  scheduler.on('slot:published', (run) => say({ published: run.runId, scheduledFor: run.scheduledFor.toISOString() }));
  await scheduler.start();
}
say({ ready: true });
