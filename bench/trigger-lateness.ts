/**
 * trigger-lateness: how late scheduled runs start (handler start − scheduled time) for 50
 * jobs with the same 5 s period, warren (scheduler + worker on PostgreSQL and RabbitMQ)
 * beside BullMQ's repeatable jobs (job schedulers on Redis), one after the other (issue 4).
 *
 *   npx tsx bench/trigger-lateness.ts            # from the repo root
 *   npx tsx bench/trigger-lateness.ts --help
 */
import { parseCli, intOption, durationOption } from './lib/cli.js';
import { AMQP_URL, DATABASE_URL, REDIS_URL, assertLoopback, benchToken } from './lib/env.js';
import { loadNow, machineInfo, printTable, serverVersions, writeResult } from './lib/report.js';
import { summarize } from './lib/stats.js';
import { runBullmqLateness, type LatenessRun } from './sides/bullmq-repeat.js';
import { runWarrenLateness } from './sides/warren-lateness.js';

const USAGE = `
Usage: npx tsx bench/trigger-lateness.ts [options]     (run from the repository root)

Runs N jobs with the same period on each side, one side after the other, and reports how
late each run's handler started after its scheduled time: p50, p90, p99, max.

  --jobs N           jobs per side                                       (default 50)
  --period S         period in whole seconds (divides 60)                (default 5)
  --schedule KIND    cron: 6-field "*/S * * * * *" on both sides (aligned slots)
                     every: warren every 'Ss' / BullMQ every S*1000 ms   (default cron)
  --duration D       measuring window per side, e.g. 90s, 2m             (default 2m)
  --concurrency N    worker concurrency on both sides                    (default 10)
  --sides LIST       comma list of: warren,bullmq                        (default warren,bullmq)
  --look-ahead D     warren's scheduler lookAhead, e.g. 0s, 250ms, 1s    (default 250ms)
  --prefetch N       warren's worker prefetch (its default: 2 x concurrency); set it to at
                     least --jobs so every trigger of a slot waits at the worker for its instant
  --allow-remote     allow non-loopback service URLs
  -h, --help         this text

Each side waits --duration plus a few seconds of grace, so the default run takes about
4 minutes. Services: PostgreSQL ${DATABASE_URL}, RabbitMQ ${AMQP_URL.replace(/\/\/[^@]*@/, '//')},
Redis ${REDIS_URL}. Results: bench/results/trigger-lateness-<date>.json
`;

const args = parseCli(USAGE, {
  jobs: { type: 'string', default: '50' },
  period: { type: 'string', default: '5' },
  schedule: { type: 'string', default: 'cron' },
  duration: { type: 'string', default: '2m' },
  concurrency: { type: 'string', default: '10' },
  sides: { type: 'string', default: 'warren,bullmq' },
  'look-ahead': { type: 'string', default: '250ms' },
  prefetch: { type: 'string' },
  'allow-remote': { type: 'boolean', default: false },
});

const jobs = intOption(args.jobs, 'jobs', 1, 500);
const period = intOption(args.period, 'period', 1, 60);
if (60 % period !== 0) {
  console.error('--period must divide 60 (so a 6-field cron and an epoch-aligned `every` give the same slots)');
  process.exit(2);
}
const durationMs = durationOption(args.duration, 'duration', 10_000, 240_000);
const concurrency = intOption(args.concurrency, 'concurrency', 1, 1000);
const prefetch = args.prefetch === undefined ? undefined : intOption(args.prefetch, 'prefetch', 1, 5000);
if (args.schedule !== 'cron' && args.schedule !== 'every') {
  console.error(`--schedule must be cron or every, got ${String(args.schedule)}`);
  process.exit(2);
}
const kind = args.schedule;
const sides = String(args.sides)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const side of sides) {
  if (!['warren', 'bullmq'].includes(side)) {
    console.error(`--sides: unknown side ${side}\n${USAGE}`);
    process.exit(2);
  }
}
if (!args['allow-remote']) {
  if (sides.includes('warren')) {
    assertLoopback(AMQP_URL, 'AMQP_URL');
    assertLoopback(DATABASE_URL, 'DATABASE_URL');
  }
  if (sides.includes('bullmq')) assertLoopback(REDIS_URL, 'REDIS_URL');
}

const cron = `*/${period} * * * * *`;
const started = new Date();
const loadAtStart = loadNow();
const runs: LatenessRun[] = [];
const failures: Array<{ side: string; error: string }> = [];

for (const side of sides) {
  console.log(`… ${side}: ${jobs} jobs, ${kind === 'cron' ? `cron "${cron}"` : `every ${period}s`}, measuring ${durationMs / 1000}s`);
  try {
    const run =
      side === 'warren'
        ? await runWarrenLateness({
            databaseUrl: DATABASE_URL,
            amqpUrl: AMQP_URL,
            token: benchToken('late'),
            jobs,
            schedule: kind === 'cron' ? { cron } : { every: `${period}s` },
            concurrency,
            durationMs,
            lookAhead: String(args['look-ahead']),
            ...(prefetch === undefined ? {} : { prefetch }),
          })
        : await runBullmqLateness({
            redisUrl: REDIS_URL,
            queue: benchToken('late'),
            jobs,
            schedule: kind === 'cron' ? { pattern: cron } : { every: period * 1000 },
            concurrency,
            durationMs,
          });
    runs.push(run);
    const s = summarize(run.samples.map((x) => x.latenessMs));
    console.log(`  ${run.side}: ${s.count} runs, p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms`);
    for (const note of run.notes) console.log(`  (${note})`);
  } catch (err) {
    failures.push({ side, error: (err as Error).stack ?? String(err) });
    console.log(`  ${side} failed: ${(err as Error).message}`);
  }
}

// Aligned slots (cron, or warren's epoch-aligned every) in a window that is a whole number
// of periods: exactly duration / period per job. BullMQ's `every` starts at upsert time.
const expectedPerJob = (): number | null => (durationMs % (period * 1000) === 0 ? durationMs / (period * 1000) : null);
const table = runs.map((run) => {
  const s = summarize(run.samples.map((x) => x.latenessMs));
  const expected = expectedPerJob();
  return {
    side: run.side,
    runs: s.count,
    expected: kind === 'cron' && expected !== null ? expected * jobs : null,
    'p50 ms': s.p50,
    'p90 ms': s.p90,
    'p99 ms': s.p99,
    'max ms': s.max,
    'mean ms': Math.round(s.mean * 10) / 10,
  };
});
console.log('');
printTable(table);
for (const f of failures) console.log(`(${f.side} failed: ${f.error.split('\n')[0]})`);

const file = writeResult('trigger-lateness', {
  bench: 'trigger-lateness',
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  options: {
    jobs,
    period,
    schedule: kind === 'cron' ? cron : `every ${period}s`,
    durationMs,
    concurrency,
    sides,
    lookAhead: String(args['look-ahead']),
    prefetch: prefetch ?? null,
  },
  method:
    'Sides run one after the other. Lateness = Date.now() at handler entry − scheduled time (warren: ctx.scheduledFor; BullMQ: the <nextMillis> in the job-scheduler job id repeat:<id>:<nextMillis>). Only slots scheduled inside the window count.',
  machine: { ...machineInfo(), loadavgAtStart: loadAtStart },
  servers: serverVersions(),
  results: runs.map((run) => ({
    side: run.side,
    summary: summarize(run.samples.map((x) => x.latenessMs)),
    notes: run.notes,
    samples: run.samples.map((x) => [x.job, x.scheduledFor, x.latenessMs]),
  })),
  table,
  failures,
});
console.log(`\nwrote ${file}`);
