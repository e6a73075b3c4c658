/**
 * A host wired as the README shows it: a plain `pg.Pool` with NO `error` listener of its
 * own, a scheduler and a worker running an every-second job. Prints a JSON line per run;
 * exits 0 on SIGTERM after closing. Used by test/scheduler/host-survives.test.ts.
 *
 * Usage: node --import tsx readme-host-child.ts <databaseUrl> <amqpUrl> <schema> <scope> <applicationName>
 */
import pg from 'pg';
import { createScheduler, createWorker, defineJob, migrate } from '../../src/index.js';

const [databaseUrl, amqpUrl, schema, scope, applicationName] = process.argv.slice(2) as [string, string, string, string, string];

const pool = new pg.Pool({ connectionString: databaseUrl, application_name: applicationName, max: 6 });
const tick = defineJob({ id: 'tick', schedule: { every: '1s' } });

await migrate(pool, { schema });
const scheduler = createScheduler({ pool, schema, amqpUrl, scope, jobs: [tick], safetyTick: '1s' });
const worker = createWorker({ pool, schema, amqpUrl, scope }).handle(tick, ({ runId }) => {
  process.stdout.write(`${JSON.stringify({ ran: runId })}\n`);
});
let errors = 0;
scheduler.on('error', () => (errors += 1));
worker.on('error', () => (errors += 1));
await scheduler.start();
await worker.start();
process.stdout.write(`${JSON.stringify({ started: true })}\n`);

process.once('SIGTERM', () => {
  void (async () => {
    await worker.close();
    await scheduler.close();
    await pool.end();
    process.stdout.write(`${JSON.stringify({ closed: true, errors })}\n`);
    process.exit(0);
  })();
});
