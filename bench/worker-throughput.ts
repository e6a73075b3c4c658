/**
 * worker-throughput: 20,000 no-op jobs through warren's createWorker against raw amqplib
 * doing the same publish/consume/ack, and against the Postgres queues pg-boss and
 * graphile-worker, in one run on one machine (issues 3 and 10).
 *
 *   npx tsx bench/worker-throughput.ts            # from the repo root
 *   npx tsx bench/worker-throughput.ts --help
 */
import pg from 'pg';
import { parseCli, intOption, durationOption } from './lib/cli.js';
import { AMQP_URL, DATABASE_URL, assertLoopback, benchToken } from './lib/env.js';
import { loadNow, machineInfo, printTable, serverVersions, writeResult, formatNumber } from './lib/report.js';
import { runAmqplibRaw } from './sides/amqplib-raw.js';
import { runPgBoss } from './sides/pg-boss.js';
import { runGraphileWorker } from './sides/graphile-worker.js';
import { runWarrenWorker } from './sides/warren-worker.js';
import { SideNotReady, type ThroughputResult } from './sides/common.js';

const USAGE = `
Usage: npx tsx bench/worker-throughput.ts [options]     (run from the repository root)

Drains a backlog of no-op jobs through each side, one side after the other, and reports
jobs/s measured from the first delivery to the last job recorded done.

  --jobs N             jobs per side                                  (default 20000)
  --concurrency N      warren concurrency = amqplib prefetch           (default 10)
  --extra N            also run every side at concurrency/prefetch N   (default: none; 0 = none)
  --sides LIST         comma list of: amqplib,warren,pgboss,graphile   (default amqplib,warren)
  --prefetch N         warren's prefetch window at --concurrency (default: the worker's, 2 × concurrency)
  --queue-type T       quorum | classic, for the raw queue and warren's (default quorum, warren's default)
  --rounds N           repeat the whole sequence N times, sides interleaved; the table
                       shows each side's median (and range) over the rounds (default 1)
  --timeout D          bound per side, e.g. 120s                       (default 120s)
  --allow-remote       allow non-loopback service URLs
  -h, --help           this text

Services: RabbitMQ ${AMQP_URL.replace(/\/\/[^@]*@/, '//')}, PostgreSQL ${DATABASE_URL}
(override with AMQP_URL / DATABASE_URL). Results: bench/results/worker-throughput-<date>.json
`;

const args = parseCli(USAGE, {
  jobs: { type: 'string', default: '20000' },
  concurrency: { type: 'string', default: '10' },
  extra: { type: 'string', default: '0' },
  sides: { type: 'string', default: 'amqplib,warren' },
  prefetch: { type: 'string', default: '0' },
  'queue-type': { type: 'string', default: 'quorum' },
  rounds: { type: 'string', default: '1' },
  timeout: { type: 'string', default: '120s' },
  'allow-remote': { type: 'boolean', default: false },
});

const jobs = intOption(args.jobs, 'jobs', 1, 200_000);
const concurrency = intOption(args.concurrency, 'concurrency', 1, 1000);
const extra = intOption(args.extra, 'extra', 0, 1000);
const rounds = intOption(args.rounds, 'rounds', 1, 10);
const prefetch = intOption(args.prefetch, 'prefetch', 0, 65_535);
const timeoutMs = durationOption(args.timeout, 'timeout', 5_000, 290_000);
if (args['queue-type'] !== 'quorum' && args['queue-type'] !== 'classic') {
  console.error(`--queue-type must be quorum or classic, got ${String(args['queue-type'])}`);
  process.exit(2);
}
const queueType: 'quorum' | 'classic' = args['queue-type'];
const sides = String(args.sides)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const side of sides) {
  if (!['amqplib', 'warren', 'pgboss', 'graphile'].includes(side)) {
    console.error(`--sides: unknown side ${side}\n${USAGE}`);
    process.exit(2);
  }
}
if (!args['allow-remote']) {
  assertLoopback(AMQP_URL, 'AMQP_URL');
  assertLoopback(DATABASE_URL, 'DATABASE_URL');
}

const levels = [concurrency, ...(extra > 0 && extra !== concurrency ? [extra] : [])];
const results: Array<ThroughputResult & { round: number }> = [];
let currentRound = 1;
const skipped: Array<{ side: string; reason: string }> = [];
const started = new Date();
const loadAtStart = loadNow();

async function measure(label: string, run: () => Promise<ThroughputResult>): Promise<void> {
  process.stdout.write(`… ${label}\n`);
  try {
    const result = await run();
    results.push({ ...result, round: currentRound });
    console.log(
      `  ${result.side}: ${formatNumber(result.jobsPerSec)} jobs/s (drain ${formatNumber(result.drainMs)} ms, enqueue ${formatNumber(result.enqueueMs)} ms)`,
    );
  } catch (err) {
    const reason = err instanceof SideNotReady ? `not ready: ${err.message}` : `failed: ${(err as Error).stack ?? String(err)}`;
    skipped.push({ side: label, reason });
    console.log(`  ${label}: ${reason}`);
  }
}

for (let round = 1; round <= rounds; round++) {
  currentRound = round;
  if (rounds > 1) console.log(`round ${round} of ${rounds}`);
  for (const level of levels) {
    if (sides.includes('amqplib')) {
      await measure(`amqplib raw, prefetch ${level}`, () =>
        runAmqplibRaw({ url: AMQP_URL, queue: `${benchToken('raw')}.jobs.noop`, jobs, prefetch: level, queueType, timeoutMs }),
      );
    }
    if (sides.includes('warren')) {
      await measure(`warren createWorker, concurrency ${level}`, () =>
        runWarrenWorker({
          databaseUrl: DATABASE_URL,
          amqpUrl: AMQP_URL,
          token: benchToken('warren'),
          jobs,
          concurrency: level,
          timeoutMs,
          queueType,
          ...(prefetch > 0 && level === concurrency ? { prefetch } : {}),
          profile: process.env.WARREN_BENCH_PROFILE === '1',
        }),
      );
    }
    if (sides.includes('pgboss')) {
      await measure(`pg-boss, batchSize ${level}`, () =>
        runPgBoss({ databaseUrl: DATABASE_URL, schema: benchToken('pgboss'), jobs, concurrency: level, timeoutMs }),
      );
    }
    if (sides.includes('graphile')) {
      await measure(`graphile-worker, concurrency ${level}`, () =>
        runGraphileWorker({ databaseUrl: DATABASE_URL, schema: benchToken('graphile'), jobs, concurrency: level, timeoutMs }),
      );
    }
  }
}

// One row per side: the median round (by jobs/s), with the range when there were several.
const bySide = new Map<string, ThroughputResult[]>();
for (const r of results) bySide.set(r.side, [...(bySide.get(r.side) ?? []), r]);
const median = (rs: ThroughputResult[]) => [...rs].sort((a, b) => a.jobsPerSec - b.jobsPerSec)[Math.floor((rs.length - 1) / 2)]!;
const medianOf = (side: string | undefined) => (side ? median(bySide.get(side)!) : undefined);
const table = [...bySide.entries()].map(([side, rs]) => {
  const m = median(rs);
  const sameLevel = (prefix: string) =>
    [...bySide.keys()].find((k) => k.startsWith(prefix) && bySide.get(k)![0]!.concurrency === m.concurrency);
  const ref = medianOf(sameLevel('amqplib raw'));
  const boss = medianOf(sameLevel('pg-boss'));
  const speeds = rs.map((r) => r.jobsPerSec);
  return {
    side,
    jobs: m.jobs,
    rounds: rs.length,
    'enqueue s': m.enqueueMs / 1000,
    'drain s': m.drainMs / 1000,
    'jobs/s': Math.round(m.jobsPerSec),
    range: rs.length > 1 ? `${Math.round(Math.min(...speeds))}–${Math.round(Math.max(...speeds))}` : null,
    'vs raw amqplib': ref ? `${(m.jobsPerSec / ref.jobsPerSec).toFixed(2)}×` : null,
    'vs pg-boss': boss ? `${(m.jobsPerSec / boss.jobsPerSec).toFixed(2)}×` : null,
  };
});
console.log('');
printTable(table);
for (const s of skipped) console.log(`(${s.side}: ${s.reason.split('\n')[0]})`);
console.log(`load average (1/5/15 min): ${loadAtStart.join(' ')} at start, ${loadNow().join(' ')} at the end`);

const pgVersion = await (async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  try {
    await client.connect();
    return (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? null;
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
})();
const file = writeResult('worker-throughput', {
  bench: 'worker-throughput',
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  options: { jobs, concurrency, extra, sides, queueType, rounds, timeoutMs, prefetch: prefetch > 0 ? prefetch : null },
  method:
    'Each side: fresh queue/schema; enqueue every job first (not timed in jobs/s), then start the consumer; drain = first delivery → last job done (raw: last ack; warren: the run:success event of the last distinct run, then one count(*) must find every row succeeded; pg-boss: last job row completed; graphile-worker: job table empty once every task was called).',
  machine: { ...machineInfo(), loadavgAtStart: loadAtStart },
  servers: { ...serverVersions(), postgresServer: pgVersion },
  results,
  table,
  skipped,
});
console.log(`\nwrote ${file}`);
