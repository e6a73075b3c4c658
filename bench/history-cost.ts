/**
 * history-cost: what a tick, a slot claim and a worker claim cost as the `runs` table's
 * history grows (issue 10.4), on the real PostgreSQL: the store calls the scheduler and the
 * worker make, timed over many repetitions at 0, 1 M and 10 M rows of finished history
 * (generated with generate_series), the 0-row level being the reference of the same run.
 *
 * History at each level: `--hot-share` of the rows in ONE job (`hot`, the job whose slots and
 * runs are claimed: the worst case for a per-job lookup), the rest spread over `--jobs` jobs
 * (the jobs the tick sees due), with realistic statuses (mostly succeeded; failed, dead,
 * expired, skipped). The levels are cumulative; large top-ups are loaded with the runs
 * indexes dropped and rebuilt (a fresh index, like one after REINDEX), then VACUUM ANALYZE.
 *
 *   cd bench && npm run history-cost            # or, from the repo root:
 *   npx tsx bench/history-cost.ts --levels 0,1000000 --reps 200
 */
import pg from 'pg';
import { parseCli, intOption } from './lib/cli.js';
import { DATABASE_URL, assertLoopback, benchToken } from './lib/env.js';
import { loadNow, machineInfo, printTable, serverVersions, writeResult } from './lib/report.js';
import { summarize, type Summary } from './lib/stats.js';
import { PgStore, defineJob, migrate, syncDefinitions } from './lib/warren.js';
import { buildQueries } from '../src/store/pg/queries.js';
import { quoteIdent } from '../src/store/pg/db.js';
import { slotRunId } from '../src/util/uuid.js';
import type { Fence, NewRun } from '../src/store/port.js';

const USAGE = `
Usage: npx tsx bench/history-cost.ts [options]     (run from the repository root)

Times the tick's store calls, a slot claim, a worker claim (and its completion) and the
retention queries at each level of finished run history, on the real PostgreSQL.

  --levels LIST     history rows, ascending, comma separated   (default 0,1000000,10000000)
  --reps N          repetitions of each call per level          (default 300)
  --jobs N          jobs the spread part of the history is over (default 1000)
  --hot-share F     share of the history in the one hot job     (default 0.5)
  --hot-overlap P   the hot job's overlap: skip (its worker claim and completion
                    take the locked transaction) or allowAll (the optimistic
                    statements)                                  (default skip)
  --keep            keep the schema afterwards (default: dropped)
  --allow-remote    allow a non-loopback DATABASE_URL
  -h, --help        this text

Under load on a 2-core machine loading 10 M rows takes a few minutes. Results:
bench/results/history-cost-<date>.json
`;

const args = parseCli(USAGE, {
  levels: { type: 'string', default: '0,1000000,10000000' },
  reps: { type: 'string', default: '300' },
  jobs: { type: 'string', default: '1000' },
  'hot-share': { type: 'string', default: '0.5' },
  'hot-overlap': { type: 'string', default: 'skip' },
  keep: { type: 'boolean', default: false },
  'allow-remote': { type: 'boolean', default: false },
});
const levels = String(args.levels)
  .split(',')
  .map((v) => intOption(v.trim(), 'levels', 0, 100_000_000));
if (levels.some((v, i) => i > 0 && v < levels[i - 1]!)) {
  console.error('--levels must be ascending');
  process.exit(2);
}
const reps = intOption(args.reps, 'reps', 10, 100_000);
const spreadJobs = intOption(args.jobs, 'jobs', 1, 100_000);
const hotShare = Number(args['hot-share']);
const hotOverlap = String(args['hot-overlap']) as 'skip' | 'allowAll';
if (hotOverlap !== 'skip' && hotOverlap !== 'allowAll') {
  console.error(`--hot-overlap must be skip or allowAll, got ${hotOverlap}`);
  process.exit(2);
}
if (!(hotShare >= 0 && hotShare <= 1)) {
  console.error(`--hot-share must be a number from 0 to 1, got ${String(args['hot-share'])}`);
  process.exit(2);
}
if (!args['allow-remote']) assertLoopback(DATABASE_URL, 'DATABASE_URL');

const SCOPE = 'hist';
/** The benchmark's "now" at the start: history lies before it, slots after it. */
const BASE = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const loadAtStart = loadNow();

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
const schema = benchToken('history').toLowerCase();
const s = quoteIdent(schema);
const q = buildQueries(s);

const time = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const round = (x: Summary) => ({ p50: +x.p50.toFixed(3), p99: +x.p99.toFixed(3), mean: +x.mean.toFixed(3), count: x.count });

/** Top the history up from `have` to `want` rows: hot rows every second back from BASE-1d, spread rows every minute. */
async function topUp(have: { hot: number; spread: number }, want: number): Promise<{ ms: number; rebuilt: boolean }> {
  const add = want - have.hot - have.spread;
  if (add <= 0) return { ms: 0, rebuilt: false };
  const addHot = Math.round(add * hotShare);
  const addSpread = add - addHot;
  const client = await pool.connect();
  const started = Date.now();
  // Large loads go faster with the indexes built once afterwards (a sort) than maintained row by row.
  const rebuild = add >= 200_000;
  try {
    await client.query(`SET maintenance_work_mem = '256MB'`);
    const { rows: defs } = await client.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'runs' AND indexname <> 'runs_pkey'`,
      [schema],
    );
    if (rebuild) {
      for (const d of defs) await client.query(`DROP INDEX ${s}.${quoteIdent(d.indexname)}`);
      await client.query(`ALTER TABLE ${s}.runs DROP CONSTRAINT runs_pkey`);
    }
    // Ids: a counter as a uuid (never equal to a v5 id warren makes); statuses ~96% succeeded.
    const insert = (count: number, offset: number, jobExpr: string, atExpr: string) =>
      client.query(
        `INSERT INTO ${s}.runs (run_id, scope, job_id, scheduled_for, trigger_source, attempt, status, params, epoch,
            available_at, worker_id, started_at, finished_at, error, published_at, created_at)
          SELECT lpad(to_hex(n), 32, '0')::uuid, $1, ${jobExpr}, t, 'scheduler', 1, st, '{}'::jsonb, 0,
            t, CASE WHEN st IN ('succeeded', 'failed', 'dead') THEN 'w-' || (n % 8) END,
            CASE WHEN st IN ('succeeded', 'failed', 'dead') THEN t + interval '3 ms' END, t + interval '25 ms',
            CASE WHEN st <> 'succeeded' THEN 'bench: ' || st END, t, t
          FROM generate_series($2::bigint + 1, $2::bigint + $3::bigint) AS n,
            LATERAL (SELECT ${atExpr} AS t,
              CASE WHEN n % 97 = 0 THEN 'failed' WHEN n % 389 = 0 THEN 'dead' WHEN n % 211 = 0 THEN 'expired'
                WHEN n % 151 = 0 THEN 'skipped' ELSE 'succeeded' END AS st) x`,
        [SCOPE, offset, count],
      );
    const base = `timestamptz '${new Date(BASE - DAY).toISOString()}'`;
    // Hot: n counts from 1 (ids 1..); spread: ids offset by 2^40 so the two never collide.
    if (addHot > 0) await insert(addHot, have.hot, `'hot'`, `${base} - n * interval '1 second'`);
    if (addSpread > 0) {
      const job = `'j' || lpad(((n - 1099511627776) % ${spreadJobs})::text, 5, '0')`;
      const at = `${base} - ((n - 1099511627776) / ${spreadJobs}) * interval '1 minute'`;
      await insert(addSpread, 1_099_511_627_776 + have.spread, job, at);
    }
    if (rebuild) {
      await client.query(`ALTER TABLE ${s}.runs ADD PRIMARY KEY (run_id)`);
      for (const d of defs) await client.query(d.indexdef);
    }
    await client.query(`VACUUM (ANALYZE) ${s}.runs`);
  } finally {
    client.release();
  }
  have.hot += addHot;
  have.spread += addSpread;
  return { ms: Date.now() - started, rebuilt: rebuild };
}

async function main(): Promise<void> {
  console.log(
    `history-cost: levels ${levels.join(', ')}, ${reps} reps, hot share ${hotShare} (overlap ${hotOverlap}), ${spreadJobs} spread jobs`,
  );
  console.log(`loadavg at start: ${loadAtStart.join(' ')}`);
  await migrate(pool, { schema });
  const store = new PgStore({ pool, schema });
  const every = { every: '1s' } as const;
  const definitions = [
    defineJob({ id: 'hot', schedule: every, overlap: hotOverlap }),
    ...Array.from({ length: spreadJobs }, (_, i) => defineJob({ id: `j${String(i).padStart(5, '0')}`, schedule: every })),
    // Queue-mode jobs with a live chain: brokenChains probes them on every tick.
    ...Array.from({ length: 10 }, (_, i) => defineJob({ id: `q${i}`, schedule: every, reschedule: 'queue' })),
  ];
  await syncDefinitions(store, SCOPE, definitions, new Date(BASE - 1000));
  for (let i = 0; i < 10; i++) {
    const job = (await store.getJob(SCOPE, `q${i}`))!;
    await store.insertRuns(
      SCOPE,
      [{ ...pendingRun(`q${i}`, new Date(BASE + 3_600_000), job.epoch), triggerSource: 'chain' }],
      new Date(BASE),
    );
  }
  // Every scheduler-mode job due at BASE: the tick's dueJobs returns a full batch.
  await pool.query(`UPDATE ${s}.jobs SET next_due_at = $1 WHERE reschedule = 'scheduler'`, [new Date(BASE)]);
  const lead = await store.acquireLeadership(SCOPE, 'bench-leader', 365 * DAY, new Date(BASE));
  const fence = lead.fence as Fence;

  const have = { hot: 0, spread: 0 };
  let slot = BASE; // the hot job's next_due_at
  const results: Array<Record<string, unknown>> = [];
  for (const level of levels) {
    const loadBefore = loadNow();
    const load = await topUp(have, level);
    if (load.ms > 0) console.log(`  ${level} rows: loaded in ${(load.ms / 1000).toFixed(1)} s${load.rebuilt ? ' (indexes rebuilt)' : ''}`);
    const now = () => new Date(slot);
    const retentionDefaults = { maxAgeMs: 30 * DAY, keepLast: 10_000 };

    // Retention's first pass over this history: the marks are dropped (the top-up wrote history
    // older than they saw, which no live scope does), so every job is counted in full, as on
    // the first pass after an upgrade. The steady passes below count from the marks it writes.
    await pool.query(`DELETE FROM ${s}.retention_marks WHERE scope = $1`, [SCOPE]);
    const firstCutoffs = await time(async () => {
      await store.retentionCutoffs(SCOPE, retentionDefaults, now());
    });

    // The tick: the outbox + backstop, due jobs and broken chains at once, then the overlap counts.
    const tick: number[] = [];
    for (let i = 0; i < reps; i++) {
      tick.push(
        await time(async () => {
          const at = now();
          const [, due] = await Promise.all([
            store.unpublishedRuns(SCOPE, new Date(at.getTime() - 5000), 500, { republishBefore: new Date(at.getTime() - 600_000) }),
            store.dueJobs(SCOPE, at, 500),
            store.brokenChains(SCOPE, new Date(at.getTime() + 1), 500),
          ]);
          await store.runningCounts(
            SCOPE,
            due.map((j) => j.jobId),
            at,
          );
        }),
      );
    }

    // A slot claim of the hot job, the worker's claim of its run, and its completion.
    const claimSlot: number[] = [];
    const claimRun: number[] = [];
    const complete: number[] = [];
    const hot = (await store.getJob(SCOPE, 'hot'))!;
    for (let i = 0; i < reps; i++) {
      const at = new Date(slot);
      const next = new Date(slot + 1000);
      const run = pendingRun('hot', at, hot.epoch);
      let inserted = 0;
      claimSlot.push(
        await time(async () => {
          const r = await store.claimSlots(SCOPE, fence, [{ jobId: 'hot', expectedNextDueAt: at, nextDueAt: next, runs: [run] }], at);
          inserted = r.inserted.length;
        }),
      );
      if (inserted !== 1) throw new Error(`slot ${at.toISOString()} not claimed`);
      const ctx = { now: new Date(slot + 5), leaseMs: 30_000, workerId: 'bench-worker' };
      let outcome = '';
      claimRun.push(
        await time(async () => {
          outcome = (await store.claimRuns([{ runId: run.runId, attempt: 1 }], ctx))[0]!.outcome;
        }),
      );
      if (outcome !== 'claimed') throw new Error(`run ${run.runId}: ${outcome}`);
      complete.push(
        await time(() =>
          store.completeRuns([
            {
              runId: run.runId,
              attempt: 1,
              guard: { workerId: 'bench-worker' },
              status: 'succeeded',
              error: null,
              finishedAt: new Date(slot + 30),
            },
          ]),
        ),
      );
      slot += 1000;
    }

    // Retention: a steady pass's cutoffs (the defaults: 30 days, the last 10,000 runs), after the
    // claims above added `reps` runs to the hot job and moved the clock `reps` seconds; then a
    // few batches of 500. The first of the three counts what was added since the first pass.
    const cutoffTimes: number[] = [];
    let cutoffs: Awaited<ReturnType<typeof store.retentionCutoffs>> = [];
    for (let i = 0; i < 3; i++) {
      cutoffTimes.push(
        await time(async () => {
          cutoffs = await store.retentionCutoffs(SCOPE, retentionDefaults, now());
        }),
      );
    }
    const pruneTimes: number[] = [];
    let pruned = 0;
    for (let i = 0; i < 5 && cutoffs.length > 0; i++) {
      pruneTimes.push(
        await time(async () => {
          for (const n of (await store.pruneRuns(SCOPE, cutoffs, 500)).values()) pruned += n;
        }),
      );
    }

    const row = {
      level,
      historyRows: have.hot + have.spread,
      hotRows: have.hot,
      loadMs: load.ms,
      tick: round(summarize(tick)),
      claimSlot: round(summarize(claimSlot)),
      claimRun: round(summarize(claimRun)),
      completeRun: round(summarize(complete)),
      retentionCutoffsFirst: Math.round(firstCutoffs * 100) / 100,
      retentionCutoffs: round(summarize(cutoffTimes)),
      retentionCutoffsEach: cutoffTimes.map((t) => Math.round(t * 100) / 100),
      pruneBatch500: pruneTimes.length > 0 ? round(summarize(pruneTimes)) : null,
      pruned,
      loadavgBefore: loadBefore,
      loadavgAfter: loadNow(),
    };
    results.push(row);
    console.log(
      `  ${level} rows: tick p50 ${row.tick.p50} ms, slot claim p50 ${row.claimSlot.p50} ms, worker claim p50 ${row.claimRun.p50} ms (loadavg ${row.loadavgAfter.join(' ')})`,
    );
  }

  // The plans at the largest level: no sequential scan of runs anywhere on the hot path.
  const plans: Record<string, string> = {};
  const explain = async (name: string, text: string, values: unknown[]) => {
    const { rows } = await pool.query(`EXPLAIN ${text}`, values);
    plans[name] = rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
  };
  const someRun = slotRunId(SCOPE, 'hot', new Date(slot - 1000));
  const at = new Date(slot);
  await explain('dueJobs', q.dueJobs, [SCOPE, at, 500]);
  await explain('runningCounts', q.runningCounts, [SCOPE, ['hot', 'j00001'], at]);
  await explain('brokenChains', q.brokenChains, [SCOPE, at, 500]);
  await explain('unpublishedOrLostRuns', q.unpublishedOrLostRuns, [SCOPE, at, 500, at]);
  await explain('lockJobsAndRuns', q.lockJobsAndRuns, [[someRun], true]);
  await explain('lockRuns', q.lockRuns, [[someRun], [SCOPE], ['hot']]);
  await explain('retentionCutoffs', q.retentionCutoffs, [SCOPE, 30 * DAY, 10_000, at]);
  await explain('pruneRuns', q.pruneRuns, [SCOPE, ['hot'], [new Date(BASE - 40 * DAY)], 500]);
  const seqScans = Object.entries(plans)
    .filter(([, plan]) => /Seq Scan on runs/.test(plan))
    .map(([name]) => name);
  console.log(seqScans.length === 0 ? 'plans: no sequential scan of runs' : `plans with a sequential scan of runs: ${seqScans.join(', ')}`);

  console.log('');
  printTable(
    results.map((r) => {
      const g = (k: string, p: 'p50' | 'p99') => (r[k] as Record<string, number> | null)?.[p] ?? null;
      return {
        'history rows': r.level as number,
        'tick p50': g('tick', 'p50'),
        'tick p99': g('tick', 'p99'),
        'slot claim p50': g('claimSlot', 'p50'),
        'slot claim p99': g('claimSlot', 'p99'),
        'worker claim p50': g('claimRun', 'p50'),
        'worker claim p99': g('claimRun', 'p99'),
        'complete p50': g('completeRun', 'p50'),
        'cutoffs first': r.retentionCutoffsFirst as number,
        'cutoffs steady p50': g('retentionCutoffs', 'p50'),
        'prune 500 p50': g('pruneBatch500', 'p50'),
        loadavg: (r.loadavgAfter as number[])[0]!,
      };
    }),
  );
  const file = writeResult('history-cost', {
    bench: 'history-cost',
    command: `npx tsx bench/history-cost.ts ${process.argv.slice(2).join(' ')}`.trim(),
    config: { levels, reps, spreadJobs, hotShare, hotOverlap },
    unit: 'ms per call (p50, p99, mean over the repetitions)',
    results,
    plans,
    seqScans,
    machine: { ...machineInfo(), loadavgAtStart: loadAtStart },
    servers: serverVersions(),
  });
  console.log(`\nresults: ${file}`);
}

function pendingRun(jobId: string, at: Date, epoch: number): NewRun {
  return {
    runId: slotRunId(SCOPE, jobId, at),
    jobId,
    scheduledFor: at,
    triggerSource: 'scheduler',
    params: {},
    epoch,
    status: 'pending',
    staleAt: new Date(at.getTime() + 800),
    availableAt: at,
  };
}

try {
  await main();
} finally {
  if (!args.keep) await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch((err: Error) => console.error(`cleanup: ${err.message}`));
  await pool.end();
}
