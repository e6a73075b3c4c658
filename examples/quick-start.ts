// The README's "Define a job, migrate, run" example, type-checked with the project
// (test/readme-sync.test.ts keeps the README's copy identical). Run it against the real
// services with: DATABASE_URL=… AMQP_URL=… npx tsx examples/quick-start.ts
import pg from 'pg';
import pino from 'pino';
import { z } from 'zod';
import { defineJob, migrate, createScheduler, createWorker } from 'warren';

async function scan(mode: 'swing' | 'day', { signal }: { signal: AbortSignal }): Promise<void> {
  signal.throwIfAborted();
  console.log(`scanning in ${mode} mode`);
}

// --- README ---
export const buyScanner = defineJob({
  id: 'buy-scanner',
  schedule: { every: '5m' },
  params: z.object({ scanMode: z.enum(['swing', 'day']) }),
  defaultParams: { scanMode: 'swing' },
  timeout: '2m',
  retry: { maxAttempts: 3, backoff: { type: 'exponential', delay: '10s', max: '5m' } },
});

export const priceMonitorStart = defineJob({
  id: 'price-monitor-start',
  queue: 'price-monitor',
  schedule: { cron: '0 9 * * 1-5', tz: 'Asia/Seoul' },
  defaultParams: { action: 'start' },
});

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// A pg.Pool emits 'error' when an idle connection dies (a restart, pg_terminate_backend),
// and Node exits on an unheard 'error'. warren listens while it uses the pool; so should you.
pool.on('error', (err) => console.warn(`postgres connection lost: ${err.message}`));
await migrate(pool, { schema: 'scheduler' });

// In any (or every) service: one of them leads the scope and publishes due runs.
const scheduler = createScheduler({
  pool,
  amqpUrl: process.env.AMQP_URL!,
  scope: 'real',
  jobs: [buyScanner, priceMonitorStart],
});
await scheduler.start(); // resolves even while a service is down: it keeps retrying
await scheduler.ready({ timeout: '30s' }); // rejects with the last connection error if not connected by then

// In the services that do the work.
const worker = createWorker({ pool, amqpUrl: process.env.AMQP_URL!, scope: 'real', logger: pino() })
  .handle(buyScanner, async ({ params, signal, log }) => {
    log.info('scanning', { mode: params.scanMode }); // params is typed from the schema
    await scan(params.scanMode, { signal });
  })
  // Every job routed to a queue, jobs created at run time over REST or Telegram included.
  .handleQueue('price-monitor', async ({ jobId, params, log }) => {
    log.info('price monitor', { jobId, params }); // e.g. { action: 'start' } or { action: 'stop' }
  });
await worker.start();

// Steer jobs at run time from any instance (or over HTTP/Telegram adapters).
await scheduler.pause('buy-scanner', { note: 'market closed' });
await scheduler.runNow('buy-scanner', { params: { scanMode: 'day' } });
await scheduler.resume('buy-scanner');
// --- /README ---

await worker.close();
await scheduler.close();
await pool.end();
