/**
 * chaos: the chaos suite (issue 11.6, test/chaos/suite.ts) as one command. Real scheduler and
 * worker processes of the BUILT package, behind proxies this runner owns: boot in every
 * order, leader kill -9 ×3, worker kill -9 mid-run, a broker cut, PostgreSQL backend bursts,
 * 300 concurrent runNow; then the invariant checker. Prints the report and writes
 * bench/results/chaos-<date>.json; exits 1 when any invariant was violated.
 *
 *   npm run chaos                          # the full set, several minutes
 *   npm run chaos -- --short               # the set `npm test` runs (test/chaos/chaos.test.ts)
 *   npm run chaos -- --amqp amqp://guest:guest@h1:5672,amqp://guest:guest@h2:5672 --database postgres://…
 */
import { parseCli, intOption, durationOption } from './lib/cli.js';
import { AMQP_URL, DATABASE_URL, assertLoopback } from './lib/env.js';
import { loadNow, machineInfo, printTable, serverVersions, writeResult } from './lib/report.js';
import { summarize } from './lib/stats.js';
import { FULL, SHORT, runChaos, type ChaosOptions } from '../test/chaos/suite.js';

const USAGE = `
Usage: npm run chaos -- [options]      (builds dist/ first when stale)

  --database URL     PostgreSQL                                   (default $DATABASE_URL or loopback)
  --amqp LIST        comma list of broker URLs (cluster nodes)    (default $AMQP_URL or loopback)
  --short            the short set (the one npm test runs)
  --schedulers N     scheduler processes                          (default 3; short 2)
  --workers N        worker processes                             (default 3; short 2)
  --leader-kills N   (default 3)    --worker-kills N  (default 3; short 1)
  --broker-cut D     how long the broker is cut, e.g. 10s         (default 10s; short 5s)
  --pg-bursts N      (default 5; short 2)   --run-now N  (default 300)
  --pgbouncer        the processes run with { pgbouncer: true } (a --database through PgBouncer)
  --allow-remote     allow non-loopback service URLs
  -h, --help         this text
`;

const args = parseCli(USAGE, {
  database: { type: 'string', default: DATABASE_URL },
  amqp: { type: 'string', default: AMQP_URL },
  short: { type: 'boolean', default: false },
  schedulers: { type: 'string' },
  workers: { type: 'string' },
  'leader-kills': { type: 'string' },
  'worker-kills': { type: 'string' },
  'broker-cut': { type: 'string' },
  'pg-bursts': { type: 'string' },
  'run-now': { type: 'string' },
  pgbouncer: { type: 'boolean', default: false },
  'allow-remote': { type: 'boolean', default: false },
});
const base = args.short ? SHORT : FULL;
const amqpUrls = String(args.amqp)
  .split(',')
  .map((u) => u.trim())
  .filter(Boolean);
const databaseUrl = String(args.database);
if (!args['allow-remote']) {
  assertLoopback(databaseUrl, '--database');
  for (const url of amqpUrls) assertLoopback(url, '--amqp');
}
const int = (name: string, fallback: number, min: number, max: number) =>
  args[name] === undefined ? fallback : intOption(args[name], name, min, max);
const options: ChaosOptions = {
  ...base,
  databaseUrl,
  amqpUrls,
  schedulers: int('schedulers', base.schedulers, 2, 10),
  workers: int('workers', base.workers, 2, 10),
  leaderKills: int('leader-kills', base.leaderKills, 0, 20),
  workerKills: int('worker-kills', base.workerKills, 0, 20),
  brokerCutMs: args['broker-cut'] === undefined ? base.brokerCutMs : durationOption(args['broker-cut'], 'broker-cut', 0, 300_000),
  pgBursts: int('pg-bursts', base.pgBursts, 0, 50),
  runNowCount: int('run-now', base.runNowCount, 0, 5000),
  ...(args.pgbouncer ? { childOptions: { pgbouncer: true } } : {}),
  settleTimeoutMs: 120_000,
  log: (line) => console.log(`chaos: ${line}`),
};

const loadAtStart = loadNow();
const startedAt = Date.now();
const report = await runChaos(options);
const elapsedS = Math.round((Date.now() - startedAt) / 1000);

console.log('\nInvariants');
printTable(report.invariants.map((r) => ({ invariant: r.name, checked: r.checked, violations: r.violations })));
for (const r of report.invariants) for (const example of r.examples) console.log(`  ✗ ${r.name}: ${example}`);
for (const failure of report.failures) console.log(`  ✗ scenario ${failure.scenario}: ${failure.error}`);
if (report.logDir) console.log(`  the processes' debug logs and events: ${report.logDir}`);

const timing = (scenario: string, metric: string, values: number[]) => {
  if (values.length === 0) return null;
  const s = summarize(values);
  return { scenario, metric, n: s.count, median: Math.round(s.p50), max: Math.round(s.max) };
};
const t = report.timings;
const timingRows = [
  timing(
    'boot in every order',
    'last step → first run',
    t.bootOrders.map((x) => x.lastUpToFirstRunMs),
  ),
  timing(
    'leader kill -9',
    'kill → new leader',
    t.leaderKills.map((x) => x.killToLeadingMs),
  ),
  timing(
    'leader kill -9',
    'kill → its first publish',
    t.leaderKills.map((x) => x.killToPublishedMs),
  ),
  timing(
    'worker kill -9 mid-run',
    'kill → retry started',
    t.workerKills.map((x) => x.killToRetryStartedMs),
  ),
  timing(
    'broker cut',
    'broker back → first run',
    t.brokerCut.map((x) => x.backToFirstRunMs),
  ),
  timing(
    'postgres backend burst',
    'burst → next run done',
    t.pgBursts.map((x) => x.burstToNextRunMs),
  ),
  timing(
    `${options.runNowCount} concurrent runNow`,
    'all answered',
    t.runNow.map((x) => x.allAnsweredMs),
  ),
  timing(
    `${options.runNowCount} concurrent runNow`,
    'all finished',
    t.runNow.map((x) => x.allFinishedMs),
  ),
].filter((r) => r !== null);
console.log('\nTimings (ms)');
printTable(timingRows);
const loadAtEnd = loadNow();
console.log(
  `\n${report.processes.spawned} processes (${report.processes.killed} killed -9, ${report.processes.stopped} stopped); recovered errors ${JSON.stringify(report.recoveredErrors)}; ${elapsedS} s; loadavg ${loadAtStart.join(' ')} → ${loadAtEnd.join(' ')}`,
);

const file = writeResult(args.short ? 'chaos-short' : 'chaos', {
  bench: 'chaos',
  options: { ...options, log: undefined, databaseUrl: undefined, amqpUrls: amqpUrls.length },
  method:
    'Each process is node test/chaos/child.mjs importing the built package (dist/) by its name; every connection goes through a TCP proxy of the runner. Times are Date.now() of the runner (kill, cut, burst) to Date.now() in the child when the event fired (leader:gained, slot:published, the handler starting or finishing); one machine, one clock.',
  machine: { ...machineInfo(), loadavgAtStart: loadAtStart },
  servers: serverVersions(),
  elapsedS,
  timingSummary: timingRows,
  ...report,
});
console.log(`results: ${file}`);
process.exit(report.violations > 0 ? 1 : 0);
