/**
 * `npm run demo`: the seed's four workers on warren, printing every run as it happens.
 *
 *   npm run demo                       in-memory store and broker, real clock, no services
 *   DATABASE_URL=postgres://… AMQP_URL=amqp://… npm run demo
 *                                      PostgreSQL (schema `warren_demo`) and RabbitMQ
 *   npm run demo -- --duration 60 --scope mock
 *
 * See docs/demo.md. It imports warren by its package name, as an application does (the
 * package resolves to its own dist/, which `npm run demo` builds first when needed).
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import { createScheduler, createWorker, defineJob, systemClock, type JobContext, type RunInfo, type Scheduler, type Worker } from 'warren';
import { MemoryStore, MemoryTransport } from 'warren/testing';

// ── options ──────────────────────────────────────────────────────────────────
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    scope: { type: 'string', default: 'demo' },
    schema: { type: 'string', default: 'warren_demo' },
    workers: { type: 'string', default: '2' },
  },
});
const durationSec = Number(args.duration);
const workerCount = Number(args.workers);
if (!Number.isFinite(durationSec) || durationSec <= 0) throw new Error(`--duration: expected seconds > 0, got ${args.duration}`);
if (!Number.isInteger(workerCount) || workerCount < 1) throw new Error(`--workers: expected an integer >= 1, got ${args.workers}`);
const scope = args.scope!;
const databaseUrl = process.env.DATABASE_URL;
const amqpUrl = process.env.AMQP_URL;
const real = Boolean(databaseUrl && amqpUrl);

// ── the seed's jobs (§10), with periods shortened so a 20 s demo shows them ──
const buyScanner = defineJob({
  id: 'buy-scanner',
  description: 'Buy Scanner auto cycle',
  schedule: { every: '3s' },
  // The seed's queue mode: each run's worker publishes the next one 3 s after it ends.
  reschedule: 'queue',
  params: z.object({ scan_mode: z.enum(['swing', 'scalp']) }),
  defaultParams: { scan_mode: 'swing' },
  retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '1s', jitter: 0 } },
});
const newsCrawler = defineJob({ id: 'news-crawler', description: 'News crawler', schedule: { every: '4s' }, reschedule: 'queue' });
// price-monitor start and stop share ONE queue; the handler reads the `action` param.
const priceAction = z.object({ action: z.enum(['start', 'stop']), interval_seconds: z.number().optional() });
const priceStart = defineJob({
  id: 'price-monitor-start',
  queue: 'price-monitor',
  schedule: { cron: '*/10 * * * * *', tz: 'Asia/Seoul' }, // the seed: '0 9 * * 1-5'
  params: priceAction,
  defaultParams: { action: 'start', interval_seconds: 86400 },
});
const priceStop = defineJob({
  id: 'price-monitor-stop',
  queue: 'price-monitor',
  schedule: { cron: '5/10 * * * * *', tz: 'Asia/Seoul' }, // the seed: '30 15 * * 1-5'
  params: priceAction,
  defaultParams: { action: 'stop', interval_seconds: 86400 },
});
const scout = defineJob({
  id: 'scout-daily',
  queue: 'scout',
  description: 'Scout daily run',
  schedule: { cron: '0 8 * * 1-5', tz: 'Asia/Seoul' },
  runOnStartup: true, // the seed's startup one-shot
});
const jobs = [buyScanner, newsCrawler, priceStart, priceStop, scout];

// ── handlers: simulated work, small random durations, an occasional failure ──
const work = (ctx: JobContext<unknown>, min: number, max: number) => systemClock.sleep(min + Math.random() * (max - min), ctx.signal);
let scans = 0;
const handlers = [
  {
    definition: buyScanner,
    handler: async (ctx: JobContext<{ scan_mode: 'swing' | 'scalp' }>) => {
      scans++;
      await work(ctx, 50, 300);
      // Every third scan's first attempt fails, to show a retry with its backoff.
      if (ctx.attempt === 1 && scans % 3 === 2) throw new Error('exchange API timed out (simulated)');
    },
  },
  { definition: newsCrawler, handler: (ctx: JobContext<Record<string, unknown>>) => work(ctx, 100, 400) },
  ...[priceStart, priceStop].map((definition) => ({
    definition,
    handler: async (ctx: JobContext<z.infer<typeof priceAction>>) => {
      await work(ctx, 20, 120);
      note(`${stamp()}  price-monitor handler: action=${ctx.params.action} (one queue, two jobs)`);
    },
  })),
  { definition: scout, handler: (ctx: JobContext<Record<string, unknown>>) => work(ctx, 200, 600) },
];

// ── output ───────────────────────────────────────────────────────────────────
const started = Date.now();
const stamp = () => new Date().toISOString().slice(11, 23);
const pad = (s: string, n: number) => s.padEnd(n);
const counts: Record<string, number> = {};
function note(line: string): void {
  console.log(line);
}
function printRun(run: RunInfo, status: string, extra = ''): void {
  counts[status] = (counts[status] ?? 0) + 1;
  note(
    `${stamp()}  ${pad(run.jobId, 20)} ${pad(run.triggerSource, 9)} attempt ${run.attempt}/${run.maxAttempts}  ${pad(status, 9)} ${extra}`.trimEnd(),
  );
}

const DROPPED: Record<string, string> = {
  duplicate: 'duplicate trigger (already claimed or finished)',
  stale_epoch: 'cancelled: a chain link from before the last pause/resume',
  expired: 'expired: not started before its stale-after deadline',
  skipped: 'skipped: the previous run is still running (overlap policy)',
};

// ── wiring ───────────────────────────────────────────────────────────────────
async function main(): Promise<void> {
  let pool: pg.Pool | undefined;
  const memory = real ? undefined : { store: new MemoryStore(), transport: new MemoryTransport({ clock: systemClock }) };
  if (real) {
    pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    pool.on('error', (err) => note(`pool error: ${err.message}`));
  }
  const backends = real ? { pool: pool!, schema: args.schema!, amqpUrl: amqpUrl! } : { store: memory!.store, transport: memory!.transport };
  note(
    `warren demo: scope "${scope}", ${real ? `PostgreSQL (schema ${args.schema}) + RabbitMQ` : 'in-memory store and broker (set DATABASE_URL and AMQP_URL for the real services)'}, ${durationSec}s`,
  );
  note(`${pad('time', 12)}  ${pad('job', 20)} ${pad('source', 9)} ${pad('attempt', 11)}  status`);

  // The scheduler migrates the schema on start when given a pool.
  const scheduler: Scheduler = createScheduler({ ...backends, scope, jobs, leaseTtl: '5s', safetyTick: '1s' });
  scheduler.on('leader:gained', () => note(`${stamp()}  scheduler ${scheduler.instanceId} leads scope "${scope}"`));
  scheduler.on('error', (err) => note(`${stamp()}  scheduler error (recovering): ${err.message}`));
  await scheduler.start();

  const workers: Worker[] = [];
  for (let i = 0; i < workerCount; i++) {
    const worker = createWorker({ ...backends, scope, jobs: handlers, workerId: `demo-worker-${i + 1}`, leaseTtl: '10s' });
    worker.on('run:success', (run, info) => printRun(run, 'succeeded', `${Math.round(info.durationMs)} ms  (${worker.workerId})`));
    worker.on('run:retry', (run, info) =>
      printRun(run, 'failed', `→ retry at ${info.retryAt.toISOString().slice(11, 19)}: ${(info.error as Error).message}`),
    );
    worker.on('run:dead', (run, info) => printRun(run, info.status, info.reason));
    worker.on('message:dropped', (info) =>
      note(`${stamp()}  run ${info.runId.slice(0, 8)} not run: ${DROPPED[info.outcome] ?? info.outcome}`),
    );
    worker.on('error', (err) => note(`${stamp()}  worker error (recovering): ${err.message}`));
    await worker.start();
    workers.push(worker);
  }

  // The control API mid-run, as the seed's REST API and Telegram bot would call it.
  const at = (fraction: number) =>
    new Promise((resolve) => setTimeout(resolve, Math.max(0, started + durationSec * 1000 * fraction - Date.now())));
  await at(0.3);
  await scheduler.pause('news-crawler', { note: 'demo: paused from the control API', actor: 'demo' });
  note(`${stamp()}  control: pause news-crawler`);
  await at(0.45);
  const manual = await scheduler.runNow('buy-scanner', { params: { scan_mode: 'scalp' }, actor: 'demo' });
  note(`${stamp()}  control: runNow buy-scanner { scan_mode: 'scalp' } → run ${manual.runId.slice(0, 8)}`);
  await at(0.6);
  await scheduler.resume('news-crawler', { actor: 'demo' });
  note(`${stamp()}  control: resume news-crawler`);
  await at(1);

  note(`${stamp()}  shutting down: workers finish their runs, the scheduler releases its lease`);
  for (const worker of workers) await worker.close();
  const status = await statusLines(scheduler);
  await scheduler.close();
  if (memory) {
    await memory.transport.close();
    await memory.store.close();
  }
  await pool?.end();
  note(status);
  note(
    `runs: ${
      Object.entries(counts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || 'none'
    }`,
  );
}

async function statusLines(scheduler: Scheduler): Promise<string> {
  try {
    const list = await scheduler.list();
    return list.map((j) => `  ${pad(j.id, 20)} ${j.paused ? 'paused ' : 'enabled'} last: ${j.lastStatus ?? '-'}`).join('\n');
  } catch (err) {
    return `  (status unavailable: ${(err as Error).message})`;
  }
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (err) => {
    console.error('demo failed:', err);
    process.exit(1);
  },
);
