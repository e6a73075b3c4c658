/**
 * harness-speed: wall time of the warren/testing harness running a 25-hour `every: '1m'`
 * scenario (1,500 runs) on the fake clock, in-memory store and broker (issue 5).
 *
 *   npx tsx bench/harness-speed.ts            # from the repo root
 *   npx tsx bench/harness-speed.ts --help
 */
import { parseCli, intOption } from './lib/cli.js';
import { loadNow, machineInfo, printTable, writeResult } from './lib/report.js';
import { summarize } from './lib/stats.js';
import { createTestHarness, defineJob } from './lib/warren.js';

const USAGE = `
Usage: npx tsx bench/harness-speed.ts [options]     (run from the repository root)

Creates a harness with one job (every: '1m', a no-op handler), advances its fake clock
by --hours, checks that every slot ran, and times it. Repeats --repeat times in one
process; the first repetition includes the JIT warm-up and is reported apart.

  --hours N       fake hours to advance                 (default 25 → 1,500 runs)
  --repeat N      repetitions                            (default 5)
  -h, --help      this text

No services are used. Results: bench/results/harness-speed-<date>.json
`;

const args = parseCli(USAGE, {
  hours: { type: 'string', default: '25' },
  repeat: { type: 'string', default: '5' },
});
const hours = intOption(args.hours, 'hours', 1, 24 * 30);
const repeat = intOption(args.repeat, 'repeat', 1, 50);
const expectedRuns = hours * 60;

interface Rep {
  rep: number;
  /** createTestHarness + start */
  startMs: number;
  /** advance(hours) */
  advanceMs: number;
  /** close */
  closeMs: number;
  totalMs: number;
  runs: number;
  succeeded: number;
}

const reps: Rep[] = [];
const started = new Date();
const loadAtStart = loadNow();
for (let rep = 1; rep <= repeat; rep++) {
  const t0 = performance.now();
  const job = defineJob({ id: 'beat', schedule: { every: '1m' } });
  let handled = 0;
  const harness = createTestHarness({ jobs: [job], handlers: { beat: () => void handled++ }, start: '2025-01-06T00:00:00.000Z' });
  await harness.start();
  const t1 = performance.now();
  await harness.advance(`${hours}h`);
  const t2 = performance.now();
  const runs = await harness.history('beat');
  await harness.close();
  const t3 = performance.now();
  const succeeded = runs.filter((r) => r.status === 'succeeded').length;
  reps.push({ rep, startMs: t1 - t0, advanceMs: t2 - t1, closeMs: t3 - t2, totalMs: t3 - t0, runs: runs.length, succeeded });
  if (handled !== expectedRuns || succeeded !== expectedRuns) {
    console.error(
      `repetition ${rep}: expected ${expectedRuns} runs to succeed, got ${succeeded} succeeded of ${runs.length} (handler called ${handled} times)`,
    );
  }
}

const table = reps.map((r) => ({
  rep: r.rep === 1 ? '1 (cold)' : String(r.rep),
  runs: r.runs,
  succeeded: r.succeeded,
  'start ms': Math.round(r.startMs * 10) / 10,
  'advance ms': Math.round(r.advanceMs * 10) / 10,
  'close ms': Math.round(r.closeMs * 10) / 10,
  'total ms': Math.round(r.totalMs * 10) / 10,
}));
printTable(table);
const warm = reps.length > 1 ? reps.slice(1) : reps;
const warmTotal = summarize(warm.map((r) => r.totalMs));
const warmAdvance = summarize(warm.map((r) => r.advanceMs));
console.log(
  `\n${hours} fake hours of every '1m' (${expectedRuns} runs): cold total ${reps[0]!.totalMs.toFixed(0)} ms; warm total median ${warmTotal.p50.toFixed(0)} ms (advance median ${warmAdvance.p50.toFixed(0)} ms, ${((expectedRuns / warmAdvance.p50) * 1000).toFixed(0)} runs/s)`,
);
const ok = reps.every((r) => r.succeeded === expectedRuns);
if (!ok) process.exitCode = 1;

const file = writeResult('harness-speed', {
  bench: 'harness-speed',
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  options: { hours, repeat, expectedRuns },
  method:
    "createTestHarness({ jobs: [every '1m'], start }) + start(), advance(hours), runs(), close(), timed with performance.now() in one process; repetition 1 includes module JIT warm-up.",
  machine: { ...machineInfo(), loadavgAtStart: loadAtStart },
  reps,
  summary: { coldTotalMs: reps[0]!.totalMs, warmTotal, warmAdvance, allSucceeded: ok },
  table,
});
console.log(`wrote ${file}`);
