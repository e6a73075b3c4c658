/**
 * scale: the cost of one leader (issue 10.3). For each size N, N jobs are registered in a
 * fresh scope and schema, a tenth of them on a 20-second cron (all due in the same second),
 * the rest on a yearly cron (registered, never due while measuring). One scheduler leads the
 * scope; the bench records when each due slot's trigger was sent and confirmed, and the cost
 * of every tick (the ticks that claim the burst, and the idle safety ticks between bursts).
 * Its peer in the same run: BullMQ with N job schedulers on the same patterns and one Worker
 * (bench/sides/bullmq-scale.ts), timed from the slot to the job promoted to `wait`.
 *
 *   npx tsx bench/scale.ts            # from the repo root: sizes 100, 1000, 10000
 *   npx tsx bench/scale.ts --help
 */
import pg from 'pg';
import { parseCli, intOption } from './lib/cli.js';
import { deleteScopeTopology } from './lib/amqp-cleanup.js';
import { AMQP_URL, DATABASE_URL, REDIS_URL, assertLoopback, benchToken } from './lib/env.js';
import { loadNow, machineInfo, printTable, serverVersions, writeResult } from './lib/report.js';
import { summarize, type Summary } from './lib/stats.js';
import { runBullmqScale, type SlotEvent } from './sides/bullmq-scale.js';
import { TransportProbe } from './lib/transport-probe.js';
import {
  AmqpTransport,
  createScheduler,
  createWorker,
  defineJob,
  MemoryTransport,
  migrate,
  PgStore,
  syncDefinitions,
} from './lib/warren.js';

const USAGE = `
Usage: npx tsx bench/scale.ts [options]     (run from the repository root)

For each size N and side: N registered jobs, N/10 of them due in the same second (cron
"*/20 * * * * *"), the rest yearly. warren: one leader and one worker; reports how late the burst's
triggers were sent and published (broker confirm, published_at written) after the slot
(p50/p99/max, and whether all were published within 1 s), and the tick's cost (the ticks that
claimed the burst, and an idle tick), and when the worker's no-op handler started each run
(active). BullMQ: N job schedulers, one Worker (no-op handler); reports how late each
occurrence was promoted to wait (its waiting event) and taken (processedOn, active).

  --sides LIST       comma list of: warren,bullmq                   (default warren,bullmq)
  --sizes LIST       comma list of registered job counts            (default 100,1000,10000)
  --slots N          bursts measured per size (20 s apart)          (default 2)
  --look-ahead D     the scheduler's lookAhead, e.g. 0s, 250ms, 1s  (default 250ms)
  --broker KIND      rabbitmq, or memory: the in-process broker, so only
                     the leader's PostgreSQL work is measured        (default rabbitmq)
  --concurrency N    each side's worker concurrency                 (default 100)
  --warren-worker on|off  a warren worker running the triggers      (default on)
  --allow-remote     allow non-loopback service URLs
  -h, --help         this text

About 30 s per size, side and slot plus registration (10,000 jobs: ~10-30 s). warren's
queue is deleted afterwards (with --warren-worker off the triggers wait in it), BullMQ's
obliterated. Redis ${REDIS_URL}. Results: bench/results/scale-<date>.json
`;

const args = parseCli(USAGE, {
  sides: { type: 'string', default: 'warren,bullmq' },
  sizes: { type: 'string', default: '100,1000,10000' },
  concurrency: { type: 'string', default: '100' },
  'warren-worker': { type: 'string', default: 'on' },
  slots: { type: 'string', default: '2' },
  'look-ahead': { type: 'string', default: '250ms' },
  broker: { type: 'string', default: 'rabbitmq' },
  'allow-remote': { type: 'boolean', default: false },
});
const sizes = String(args.sizes)
  .split(',')
  .map((s) => intOption(s.trim(), 'sizes', 10, 100_000));
const slots = intOption(args.slots, 'slots', 1, 10);
const concurrency = intOption(args.concurrency, 'concurrency', 1, 10_000);
const warrenWorker = String(args['warren-worker']);
if (warrenWorker !== 'on' && warrenWorker !== 'off') {
  console.error(`--warren-worker must be on or off, got ${warrenWorker}`);
  process.exit(2);
}
const sides = String(args.sides)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const side of sides) {
  if (side !== 'warren' && side !== 'bullmq') {
    console.error(`--sides: unknown side ${side}\n${USAGE}`);
    process.exit(2);
  }
}
const lookAhead: string | undefined = String(args['look-ahead']);
const broker = String(args.broker);
if (broker !== 'rabbitmq' && broker !== 'memory') {
  console.error(`--broker must be rabbitmq or memory, got ${broker}`);
  process.exit(2);
}
if (!args['allow-remote']) {
  if (sides.includes('warren')) {
    if (broker === 'rabbitmq') assertLoopback(AMQP_URL, 'AMQP_URL');
    assertLoopback(DATABASE_URL, 'DATABASE_URL');
  }
  if (sides.includes('bullmq')) assertLoopback(REDIS_URL, 'REDIS_URL');
}

const PERIOD_MS = 20_000;
const DUE_CRON = '*/20 * * * * *';
const IDLE_CRON = '0 0 0 1 1 *';
/** Listening after the last burst, ms. */
const TAIL_MS = 6000;

const dueOf = (n: number): number => Math.max(1, Math.round(n / 10));

/** The bursts measured: the first slot at least 5 s away (the side settled), then every 20 s. */
function pickBursts(): number[] {
  const first = Math.ceil((Date.now() + 5000) / PERIOD_MS) * PERIOD_MS;
  return Array.from({ length: slots }, (_, i) => first + i * PERIOD_MS);
}

/** Lateness of one step (slot → event) over the bursts, and how many bursts had every due slot within 1 s. */
function burstLateness(events: SlotEvent[], bursts: number[], due: number): { lateness: Summary; within1s: number; missing: number } {
  const lags: number[] = [];
  let within1s = 0;
  let missing = 0;
  for (const slot of bursts) {
    const mine = events.filter((e) => e.slot === slot).map((e) => e.at - slot);
    lags.push(...mine);
    missing += Math.max(0, due - mine.length);
    if (mine.length >= due && mine.every((l) => l <= 1000)) within1s += 1;
  }
  return { lateness: summarize(lags), within1s, missing };
}

interface SizeResult {
  side: 'warren';
  jobs: number;
  due: number;
  /** defineJob of the N definitions, before registration. */
  defineMs: number;
  registerMs: number;
  /** Per burst: slot → trigger sent / confirmed by the broker and marked published (slot:published), ms. */
  sent: Summary;
  published: Summary;
  /** Bursts whose every trigger was published within 1 s of the slot. */
  burstsWithin1s: number;
  bursts: number;
  missingTriggers: number;
  /** Slot → the worker's handler entered (null without a worker), ms. */
  started: Summary | null;
  /** Ticks that claimed slots of a burst: per burst, their count and summed cost; and the phases of each. */
  claimTicksPerBurst: number[];
  claimMsPerBurst: number[];
  claimPhases: Array<Record<string, number | null>>;
  idleTick: Summary;
  notes: string[];
}

async function measureWarren(n: number): Promise<SizeResult> {
  const token = benchToken('scale');
  const scope = token;
  const schema = token;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 12 });
  pool.on('error', () => {});
  const due = dueOf(n);
  const memory = broker === 'memory' ? new MemoryTransport() : null;
  const transport = new TransportProbe(memory ?? new AmqpTransport({ url: AMQP_URL, scope }));
  // The worker's own connection (as in production); the in-process broker is one instance.
  const workerTransport = warrenWorker === 'off' ? null : (memory ?? new AmqpTransport({ url: AMQP_URL, scope }));
  let worker: ReturnType<typeof createWorker> | null = null;
  const notes: string[] = [];
  const store = new PgStore({ pool, schema });
  try {
    await migrate(pool, { schema });
    const defineStarted = Date.now();
    const definitions = Array.from({ length: n }, (_, i) =>
      defineJob({
        id: `job-${String(i).padStart(5, '0')}`,
        queue: 'scale',
        schedule: { cron: i < due ? DUE_CRON : IDLE_CRON },
        catchup: 'none',
        overlap: 'allowAll',
      }),
    );
    const defineMs = Date.now() - defineStarted;
    const t0 = Date.now();
    // Registered in 10 parallel streams (syncDefinitions upserts one job per statement).
    const chunk = Math.ceil(n / 10);
    await Promise.all(
      Array.from({ length: 10 }, (_, k) => syncDefinitions(store, scope, definitions.slice(k * chunk, (k + 1) * chunk), new Date())),
    );
    const registerMs = Date.now() - t0;

    const scheduler = createScheduler({
      pool,
      schema,
      transport,
      scope,
      jobs: [],
      migrate: false,
      safetyTick: '2s',
      maxSlotsPerTick: 500,
      ...(lookAhead === undefined ? {} : { lookAhead }),
    });
    scheduler.on('error', (err) => console.error('warren scheduler error:', err.message));
    const publishedAt = new Map<string, { slot: number; at: number }>();
    scheduler.on('slot:published', (run) => publishedAt.set(run.runId, { slot: run.scheduledFor.getTime(), at: Date.now() }));
    const ticks: Array<{ at: number; ahead: number; pending: number; phases: Record<string, number | null> }> = [];
    scheduler.on('tick', (s) => ticks.push({ at: s.at.getTime(), ahead: s.ahead, pending: s.inserted.pending, phases: { ...s.phases } }));
    // A no-op handler per queue: slot → run started (the handler entered), as BullMQ's `active`.
    const startedAt: SlotEvent[] = [];
    if (workerTransport !== null) {
      worker = createWorker({
        pool,
        schema,
        transport: workerTransport,
        scope,
        concurrency,
        queues: [{ queue: 'scale', handler: (ctx) => void startedAt.push({ slot: ctx.scheduledFor.getTime(), at: Date.now() }) }],
      });
      worker.on('error', (err) => console.error('warren worker error:', err.message));
      await worker.start();
      await worker.ready();
    }
    const leading = new Promise<void>((resolve) => scheduler.once('leader:gained', () => resolve()));
    await scheduler.start();
    await leading;
    const bursts = pickBursts();
    await new Promise((r) => setTimeout(r, bursts[bursts.length - 1]! + TAIL_MS - Date.now()));
    await scheduler.close();
    await worker?.close();

    const published = [...publishedAt.entries()].map(([, p]) => p);
    const sent = [...publishedAt.entries()].flatMap(([runId, p]) => {
      const at = transport.sentWallAt.get(runId);
      return at === undefined ? [] : [{ slot: p.slot, at }];
    });
    const pub = burstLateness(published, bursts, due);
    const claimTicksPerBurst: number[] = [];
    const claimMsPerBurst: number[] = [];
    const claimPhases: Array<Record<string, number | null>> = [];
    for (const slot of bursts) {
      // The ticks that claimed this burst: those inserting pending runs within 10 s of the slot.
      const claiming = ticks.filter((t) => t.pending > 0 && t.at > slot - 10_000 && t.at <= slot + 10_000);
      claimTicksPerBurst.push(claiming.length);
      claimMsPerBurst.push(claiming.reduce((sum, t) => sum + (t.phases.total ?? 0), 0));
      claimPhases.push(...claiming.map((t) => ({ ...t.phases, ahead: t.ahead, pending: t.pending })));
    }
    const idle = ticks.filter((t) => t.pending === 0).map((t) => t.phases.total ?? 0);
    const { rows } = await pool.query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM "${schema}".runs WHERE scope = $1 GROUP BY status ORDER BY status`,
      [scope],
    );
    notes.push(`run rows by status: ${rows.map((r) => `${r.status} ${r.n}`).join(', ') || 'none'}`);
    return {
      side: 'warren',
      jobs: n,
      due,
      defineMs,
      registerMs,
      sent: burstLateness(sent, bursts, due).lateness,
      published: pub.lateness,
      burstsWithin1s: pub.within1s,
      bursts: bursts.length,
      missingTriggers: pub.missing,
      started: workerTransport === null ? null : burstLateness(startedAt, bursts, due).lateness,
      claimTicksPerBurst,
      claimMsPerBurst,
      claimPhases,
      idleTick: summarize(idle),
      notes,
    };
  } finally {
    await worker?.close().catch(() => {});
    if (workerTransport !== null && workerTransport !== memory) await workerTransport.close().catch(() => {});
    await transport.close().catch(() => {});
    await store.close().catch(() => {});
    if (broker === 'rabbitmq')
      await deleteScopeTopology(AMQP_URL, scope).catch((err: Error) => console.error('cleanup (RabbitMQ):', err.message));
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((err: Error) => console.error('cleanup (Postgres):', err.message));
    await pool.end().catch(() => {});
  }
}

interface BullmqSizeResult {
  side: 'bullmq';
  jobs: number;
  due: number;
  registerMs: number;
  /** Slot → the occurrence promoted to wait (its `waiting` event, Redis time), ms. */
  waiting: Summary;
  /** Slot → moved to active by the Worker (`job.processedOn`), ms. */
  active: Summary;
  /** Bursts whose every occurrence was promoted to wait within 1 s of the slot. */
  burstsWithin1s: number;
  bursts: number;
  missingJobs: number;
  notes: string[];
}

async function measureBullmq(n: number): Promise<BullmqSizeResult> {
  const due = dueOf(n);
  const run = await runBullmqScale({
    redisUrl: REDIS_URL,
    queue: benchToken('scale'),
    jobs: n,
    due,
    duePattern: DUE_CRON,
    idlePattern: IDLE_CRON,
    streams: 10,
    concurrency,
    pickBursts,
    tailMs: TAIL_MS,
  });
  const waiting = burstLateness(run.waiting, run.bursts, due);
  return {
    side: 'bullmq',
    jobs: n,
    due,
    registerMs: run.registerMs,
    waiting: waiting.lateness,
    active: burstLateness(run.active, run.bursts, due).lateness,
    burstsWithin1s: waiting.within1s,
    bursts: run.bursts.length,
    missingJobs: waiting.missing,
    notes: run.notes,
  };
}

const started = new Date();
const loadAtStart = loadNow();
const results: Array<SizeResult | BullmqSizeResult> = [];
for (const n of sizes) {
  for (const side of sides) {
    console.log(`… ${side}: ${n} jobs registered, ${dueOf(n)} due per slot, ${slots} slot(s)`);
    const r = side === 'warren' ? await measureWarren(n) : await measureBullmq(n);
    results.push(r);
    if (r.side === 'warren') {
      console.log(
        `  defined in ${r.defineMs} ms, registered in ${r.registerMs} ms; published p50 ${r.published.p50} / p99 ${r.published.p99} / max ${r.published.max} ms; ` +
          `bursts within 1 s ${r.burstsWithin1s}/${r.bursts}; claim ticks ${r.claimTicksPerBurst.join('+')} costing ${r.claimMsPerBurst.join(', ')} ms; ` +
          `idle tick p50 ${r.idleTick.p50} ms`,
      );
    } else {
      console.log(
        `  registered in ${r.registerMs} ms; waiting p50 ${r.waiting.p50} / p99 ${r.waiting.p99} / max ${r.waiting.max} ms; ` +
          `active p50 ${r.active.p50} / p99 ${r.active.p99} ms; bursts within 1 s ${r.burstsWithin1s}/${r.bursts}`,
      );
    }
    for (const note of r.notes) console.log(`  (${note})`);
  }
}

const median = (xs: number[]) => summarize(xs).p50;
const table = results.map((r) =>
  r.side === 'warren'
    ? {
        side: 'warren',
        jobs: r.jobs,
        'due/slot': r.due,
        'sent p50': r.sent.p50,
        'sent p99': r.sent.p99,
        'ready p50': r.published.p50,
        'ready p99': r.published.p99,
        'ready max': r.published.max,
        'all ≤1s': `${r.burstsWithin1s}/${r.bursts}`,
        'active p50': r.started?.p50 ?? null,
        'active p99': r.started?.p99 ?? null,
        'claim ticks': median(r.claimTicksPerBurst),
        'claim ms': median(r.claimMsPerBurst),
        'idle tick ms': r.idleTick.p50,
        'register s': Math.round(r.registerMs / 100) / 10,
      }
    : {
        side: 'bullmq',
        jobs: r.jobs,
        'due/slot': r.due,
        'sent p50': null,
        'sent p99': null,
        'ready p50': r.waiting.p50,
        'ready p99': r.waiting.p99,
        'ready max': r.waiting.max,
        'all ≤1s': `${r.burstsWithin1s}/${r.bursts}`,
        'active p50': r.active.p50,
        'active p99': r.active.p99,
        'claim ticks': null,
        'claim ms': null,
        'idle tick ms': null,
        'register s': Math.round(r.registerMs / 100) / 10,
      },
);
console.log('');
printTable(table);

const file = writeResult('scale', {
  bench: 'scale',
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  options: {
    sides,
    sizes,
    slots,
    broker,
    lookAhead: lookAhead ?? 'default',
    periodMs: PERIOD_MS,
    maxSlotsPerTick: 500,
    safetyTick: '2s',
    concurrency,
    warrenWorker,
  },
  method:
    'Per size: N jobs registered (N/10 on "*/20 * * * * *", the rest on a yearly cron). warren: one scheduler leading, one worker (the same concurrency as the BullMQ Worker, no-op handler; --warren-worker off: none). sent = Date.now() when the trigger was handed to the transport − slot; ready = published = the slot:published event (broker confirm + published_at written) − slot; active = the handler of the worker entered − slot. claim ms = the summed phases.total of the ticks that inserted the burst; idle tick = the p50 of phases.total of ticks that inserted nothing. BullMQ: N job schedulers (upsertJobScheduler, 10 parallel streams), one Worker with a no-op handler; ready = the waiting event of the occurrence (promoted from delayed to wait; its event stream id, Redis time) − slot; active = job.processedOn − slot.',
  machine: { ...machineInfo(), loadavgAtStart: loadAtStart },
  servers: serverVersions(),
  results,
  table,
});
console.log(`\nwrote ${file}`);
