/**
 * scale: the cost of one leader (issue 10.3). For each size N, N jobs are registered in a
 * fresh scope and schema, a tenth of them on a 20-second cron (all due in the same second),
 * the rest on a yearly cron (registered, never due while measuring). One scheduler leads the
 * scope; the bench records when each due slot's trigger was sent and confirmed, and the cost
 * of every tick (the ticks that claim the burst, and the idle safety ticks between bursts).
 *
 *   npx tsx bench/scale.ts            # from the repo root: sizes 100, 1000, 10000
 *   npx tsx bench/scale.ts --help
 */
import pg from 'pg';
import { parseCli, intOption } from './lib/cli.js';
import { deleteScopeTopology } from './lib/amqp-cleanup.js';
import { AMQP_URL, DATABASE_URL, assertLoopback, benchToken } from './lib/env.js';
import { loadNow, machineInfo, printTable, serverVersions, writeResult } from './lib/report.js';
import { summarize, type Summary } from './lib/stats.js';
import { TransportProbe } from './lib/transport-probe.js';
import { AmqpTransport, createScheduler, defineJob, MemoryTransport, migrate, PgStore, syncDefinitions } from './lib/warren.js';

const USAGE = `
Usage: npx tsx bench/scale.ts [options]     (run from the repository root)

For each size N: N registered jobs, N/10 of them due in the same second (cron "*/20 * * * * *"),
one leader. Reports, per size: how late the burst's triggers were sent and confirmed after the
slot (p50/p99/max, and whether all went out within 1 s), and the tick's cost (the ticks that
claimed the burst, and an idle tick).

  --sizes LIST       comma list of registered job counts            (default 100,1000,10000)
  --slots N          bursts measured per size (20 s apart)          (default 2)
  --look-ahead D     the scheduler's lookAhead, e.g. 0s, 250ms, 1s  (default 250ms)
  --broker KIND      rabbitmq, or memory: the in-process broker, so only
                     the leader's PostgreSQL work is measured        (default rabbitmq)
  --allow-remote     allow non-loopback service URLs
  -h, --help         this text

About 30 s per size and slot plus registration (10,000 jobs: ~10-30 s). No worker: the
triggers wait in the queue, which is deleted afterwards. Results: bench/results/scale-<date>.json
`;

const args = parseCli(USAGE, {
  sizes: { type: 'string', default: '100,1000,10000' },
  slots: { type: 'string', default: '2' },
  'look-ahead': { type: 'string', default: '250ms' },
  broker: { type: 'string', default: 'rabbitmq' },
  'allow-remote': { type: 'boolean', default: false },
});
const sizes = String(args.sizes)
  .split(',')
  .map((s) => intOption(s.trim(), 'sizes', 10, 100_000));
const slots = intOption(args.slots, 'slots', 1, 10);
const lookAhead: string | undefined = String(args['look-ahead']);
const broker = String(args.broker);
if (broker !== 'rabbitmq' && broker !== 'memory') {
  console.error(`--broker must be rabbitmq or memory, got ${broker}`);
  process.exit(2);
}
if (!args['allow-remote']) {
  if (broker === 'rabbitmq') assertLoopback(AMQP_URL, 'AMQP_URL');
  assertLoopback(DATABASE_URL, 'DATABASE_URL');
}

const PERIOD_MS = 20_000;

interface SizeResult {
  jobs: number;
  due: number;
  registerMs: number;
  /** Per burst: slot → trigger sent / confirmed by the broker and marked published (slot:published), ms. */
  sent: Summary;
  published: Summary;
  /** Bursts whose every trigger was published within 1 s of the slot. */
  burstsWithin1s: number;
  bursts: number;
  missingTriggers: number;
  /** Ticks that claimed slots of a burst: per burst, their count and summed cost; and the phases of each. */
  claimTicksPerBurst: number[];
  claimMsPerBurst: number[];
  claimPhases: Array<Record<string, number | null>>;
  idleTick: Summary;
  notes: string[];
}

async function measureSize(n: number): Promise<SizeResult> {
  const token = benchToken('scale');
  const scope = token;
  const schema = token;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 12 });
  pool.on('error', () => {});
  const due = Math.max(1, Math.round(n / 10));
  const transport = new TransportProbe(broker === 'memory' ? new MemoryTransport() : new AmqpTransport({ url: AMQP_URL, scope }));
  const notes: string[] = [];
  const store = new PgStore({ pool, schema });
  try {
    await migrate(pool, { schema });
    const definitions = Array.from({ length: n }, (_, i) =>
      defineJob({
        id: `job-${String(i).padStart(5, '0')}`,
        queue: 'scale',
        schedule: { cron: i < due ? '*/20 * * * * *' : '0 0 0 1 1 *' },
        catchup: 'none',
        overlap: 'allowAll',
      }),
    );
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
    const leading = new Promise<void>((resolve) => scheduler.once('leader:gained', () => resolve()));
    await scheduler.start();
    await leading;
    // The bursts measured: the first slot at least 5 s away (the leader settled), then every 20 s.
    const first = Math.ceil((Date.now() + 5000) / PERIOD_MS) * PERIOD_MS;
    const bursts = Array.from({ length: slots }, (_, i) => first + i * PERIOD_MS);
    await new Promise((r) => setTimeout(r, bursts[bursts.length - 1]! + 6000 - Date.now()));
    await scheduler.close();

    const sentLag: number[] = [];
    const publishedLag: number[] = [];
    let within = 0;
    let missing = 0;
    const claimTicksPerBurst: number[] = [];
    const claimMsPerBurst: number[] = [];
    const claimPhases: Array<Record<string, number | null>> = [];
    for (const slot of bursts) {
      const runs = [...publishedAt.entries()].filter(([, p]) => p.slot === slot);
      missing += Math.max(0, due - runs.length);
      const lags = runs.map(([, p]) => p.at - slot);
      publishedLag.push(...lags);
      for (const [runId] of runs) {
        const sent = transport.sentWallAt.get(runId);
        if (sent !== undefined) sentLag.push(sent - slot);
      }
      if (runs.length === due && lags.every((l) => l <= 1000)) within += 1;
      // The ticks that claimed this burst: those inserting pending runs in the second before the slot or after it.
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
      jobs: n,
      due,
      registerMs,
      sent: summarize(sentLag),
      published: summarize(publishedLag),
      burstsWithin1s: within,
      bursts: bursts.length,
      missingTriggers: missing,
      claimTicksPerBurst,
      claimMsPerBurst,
      claimPhases,
      idleTick: summarize(idle),
      notes,
    };
  } finally {
    await transport.close().catch(() => {});
    await store.close().catch(() => {});
    if (broker === 'rabbitmq')
      await deleteScopeTopology(AMQP_URL, scope).catch((err: Error) => console.error('cleanup (RabbitMQ):', err.message));
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((err: Error) => console.error('cleanup (Postgres):', err.message));
    await pool.end().catch(() => {});
  }
}

const started = new Date();
const loadAtStart = loadNow();
const results: SizeResult[] = [];
for (const n of sizes) {
  console.log(`… ${n} jobs registered, ${Math.max(1, Math.round(n / 10))} due per slot, ${slots} slot(s)`);
  const r = await measureSize(n);
  results.push(r);
  console.log(
    `  registered in ${r.registerMs} ms; published p50 ${r.published.p50} / p99 ${r.published.p99} / max ${r.published.max} ms; ` +
      `bursts within 1 s ${r.burstsWithin1s}/${r.bursts}; claim ticks ${r.claimTicksPerBurst.join('+')} costing ${r.claimMsPerBurst.join(', ')} ms; ` +
      `idle tick p50 ${r.idleTick.p50} ms`,
  );
  for (const note of r.notes) console.log(`  (${note})`);
}

const median = (xs: number[]) => summarize(xs).p50;
const table = results.map((r) => ({
  jobs: r.jobs,
  'due/slot': r.due,
  'sent p50': r.sent.p50,
  'sent p99': r.sent.p99,
  'published p50': r.published.p50,
  'published p99': r.published.p99,
  'published max': r.published.max,
  'all ≤1s': `${r.burstsWithin1s}/${r.bursts}`,
  'claim ticks': median(r.claimTicksPerBurst),
  'claim ms': median(r.claimMsPerBurst),
  'idle tick ms': r.idleTick.p50,
}));
console.log('');
printTable(table);

const file = writeResult('scale', {
  bench: 'scale',
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  options: { sizes, slots, broker, lookAhead: lookAhead ?? 'default', periodMs: PERIOD_MS, maxSlotsPerTick: 500, safetyTick: '2s' },
  method:
    'Per size: N jobs registered (N/10 on "*/20 * * * * *", the rest on a yearly cron), one scheduler leading, no worker. sent = Date.now() when the trigger was handed to the transport − slot; published = the slot:published event (broker confirm + published_at written) − slot. claim ms = the summed phases.total of the ticks that inserted the burst; idle tick = the p50 of phases.total of ticks that inserted nothing.',
  machine: { ...machineInfo(), loadavgAtStart: loadAtStart },
  servers: serverVersions(),
  results,
  table,
});
console.log(`\nwrote ${file}`);
