/**
 * liveness: how long warren takes to notice a process killed with -9 (issue 11.2), with
 * liveness off (the leases alone) and on (session advisory locks), on the real services.
 *  - worker: a child worker (test/helpers/liveness-child.ts) runs a never-ending first
 *    attempt and is SIGKILLed; measured: kill → the retry's handler starting on a worker in
 *    this process (and kill → the leader's `run:reaped`).
 *  - leader: a child scheduler leads an every-second job and is SIGKILLed; measured: kill →
 *    the follower in this process leading, and kill → its first published slot.
 * Every instance uses its defaults (worker lease 30 s, leader lease 15 s, safety tick 10 s,
 * liveness check 500 ms and grace 1 s), so the figures are what a default deployment sees.
 *
 *   npx tsx bench/liveness.ts                 # from the repo root
 *   npx tsx bench/liveness.ts --trials 3 --modes on
 */
import pg from 'pg';
import { parseCli, intOption } from './lib/cli.js';
import { deleteScopeTopology } from './lib/amqp-cleanup.js';
import { AMQP_URL, DATABASE_URL, assertLoopback, benchToken } from './lib/env.js';
import { loadNow, machineInfo, printTable, serverVersions, writeResult } from './lib/report.js';
import { summarize } from './lib/stats.js';
import { createScheduler, createWorker, migrate } from './lib/warren.js';
import { slowJob } from '../test/helpers/liveness-jobs.js';
import { spawnLivenessChild } from '../test/helpers/liveness-process.js';
import { waitFor } from '../test/helpers/wait.js';

const USAGE = `
Usage: npx tsx bench/liveness.ts [options]     (run from the repository root)

Kills a worker mid-run and a leader with SIGKILL, --trials times each, with liveness off
and on, and reports kill → retry started (worker) and kill → next slot published (leader).

  --trials N      kills per case and mode                       (default 5)
  --modes LIST    comma list of: off,on                         (default off,on)
  --cases LIST    comma list of: worker,leader                  (default worker,leader)
  --allow-remote  allow non-loopback service URLs
  -h, --help      this text

With liveness off a worker trial waits out the 30 s lease and a leader trial the 15 s
lease: the default run takes about 5 minutes. Results: bench/results/liveness-<date>.json
`;

const args = parseCli(USAGE, {
  trials: { type: 'string', default: '5' },
  modes: { type: 'string', default: 'off,on' },
  cases: { type: 'string', default: 'worker,leader' },
  'allow-remote': { type: 'boolean', default: false },
});
const trials = intOption(args.trials, 'trials', 1, 50);
const modes = String(args.modes)
  .split(',')
  .map((m) => m.trim())
  .filter((m): m is 'off' | 'on' => m === 'off' || m === 'on');
const cases = String(args.cases)
  .split(',')
  .map((m) => m.trim())
  .filter((m): m is 'worker' | 'leader' => m === 'worker' || m === 'leader');
if (!args['allow-remote']) {
  assertLoopback(DATABASE_URL, 'DATABASE_URL');
  assertLoopback(AMQP_URL, 'AMQP_URL');
}

const schema = benchToken('liveness');
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8 });
pool.on('error', () => {});
const scopes: string[] = [];
const startedAt = new Date();
const loadAtStart = loadNow();

type Sample = Record<string, number>;

async function workerTrials(liveness: boolean, samples: Sample[]): Promise<void> {
  const scope = benchToken(`w${liveness ? 'on' : 'off'}`).slice(0, 40);
  scopes.push(scope);
  const scheduler = createScheduler({
    pool,
    schema,
    amqpUrl: AMQP_URL,
    scope,
    jobs: [slowJob],
    migrate: false,
    liveness,
    instanceId: `${scope}-leader`,
  });
  scheduler.on('error', () => {});
  let reapedAt = 0;
  scheduler.on('run:reaped', () => (reapedAt = Date.now()));
  await scheduler.start();
  await waitFor(() => scheduler.isLeader(), 'the bench leader leading');
  let retriedAt = 0;
  const survivor = createWorker({ pool, schema, amqpUrl: AMQP_URL, scope, liveness, workerId: `${scope}-survivor` }).handle(
    slowJob,
    ({ attempt }) => {
      if (attempt > 1) retriedAt = Date.now();
    },
  );
  survivor.on('error', () => {});
  try {
    for (let trial = 1; trial <= trials; trial++) {
      const child = spawnLivenessChild({
        role: 'worker',
        databaseUrl: DATABASE_URL,
        amqpUrl: AMQP_URL,
        schema,
        scope,
        instanceId: `${scope}-doomed-${trial}`,
        applicationName: 'warren-bench-liveness',
        liveness,
        leaseTtl: '30s',
      });
      try {
        await child.line((l) => l.ready === true, 'the child worker ready');
        if (trial === 1) {
          await survivor.start();
          await survivor.ready();
        }
        // The survivor consumes the queue too: trigger until the child is the one running the run.
        let running = false;
        for (let tries = 0; !running && tries < 20; tries++) {
          const run = await scheduler.runNow('slow');
          running = await child
            .line((l) => l.running === run.runId, 'the child running', 10_000)
            .then(
              () => true,
              () => false,
            );
        }
        if (!running) throw new Error('the child worker never got a run');
        retriedAt = 0;
        reapedAt = 0;
        const killedAt = Date.now();
        await child.kill9();
        await waitFor(() => retriedAt > 0, 'the retry starting', { timeoutMs: 120_000, intervalMs: 5 });
        samples.push({ trial, killToReapedMs: reapedAt - killedAt, killToRetryStartedMs: retriedAt - killedAt });
        console.log(`worker liveness=${liveness ? 'on' : 'off'} trial ${trial}: retry started ${retriedAt - killedAt} ms after the kill`);
      } finally {
        await child.kill9();
      }
    }
  } finally {
    await survivor.close();
    await scheduler.close();
  }
}

async function leaderTrials(liveness: boolean, samples: Sample[]): Promise<void> {
  for (let trial = 1; trial <= trials; trial++) {
    const scope = benchToken(`l${liveness ? 'on' : 'off'}${trial}`).slice(0, 40);
    scopes.push(scope);
    const child = spawnLivenessChild({
      role: 'scheduler',
      databaseUrl: DATABASE_URL,
      amqpUrl: AMQP_URL,
      schema,
      scope,
      instanceId: `${scope}-doomed`,
      applicationName: 'warren-bench-liveness',
      liveness,
      leaseTtl: '15s',
    });
    const follower = createScheduler({
      pool,
      schema,
      amqpUrl: AMQP_URL,
      scope,
      jobs: [],
      migrate: false,
      liveness,
      instanceId: `${scope}-follower`,
    });
    follower.on('error', () => {});
    let gainedAt = 0;
    let publishedAt = 0;
    follower.on('leader:gained', () => (gainedAt = Date.now()));
    follower.on('slot:published', () => (publishedAt ||= Date.now()));
    try {
      await child.line((l) => typeof l.leading === 'number', 'the child leading');
      await follower.start();
      // Its first lease attempt failed: it follows (and, with liveness, waits on the leader's lock).
      const key = `warren:${schema}:scheduler:${scope}-doomed`;
      await waitFor(
        async () => {
          if (!liveness) return follower.state === 'running';
          const { rows } = await pool.query(
            `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock' AND NOT granted AND ((classid::int8 << 32) | objid::int8) = hashtextextended($1, 0)`,
            [key],
          );
          return rows.length > 0;
        },
        'the follower waiting',
        { timeoutMs: 30_000 },
      );
      const killedAt = Date.now();
      await child.kill9();
      await waitFor(() => publishedAt > 0, 'the follower publishing', { timeoutMs: 120_000, intervalMs: 5 });
      samples.push({ trial, killToLeadingMs: gainedAt - killedAt, killToPublishedMs: publishedAt - killedAt });
      console.log(
        `leader liveness=${liveness ? 'on' : 'off'} trial ${trial}: next slot published ${publishedAt - killedAt} ms after the kill`,
      );
    } finally {
      await child.kill9();
      await follower.close();
    }
  }
}

const results: Record<string, Record<string, Sample[]>> = {};
let failure: string | null = null;
try {
  await migrate(pool, { schema });
  for (const mode of modes) {
    results[mode] = {};
    for (const kind of cases) {
      const samples: Sample[] = [];
      results[mode]![kind] = samples;
      // Trials push into `samples` as they finish: a failure later keeps what was measured.
      await (kind === 'worker' ? workerTrials(mode === 'on', samples) : leaderTrials(mode === 'on', samples));
    }
  }
} catch (error) {
  failure = (error as Error).stack ?? String(error);
  console.error(`bench failed; writing what was measured: ${failure}`);
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await pool.end();
}

const rows: Array<Record<string, string | number | null>> = [];
const summary: Record<string, unknown> = {};
for (const [mode, byCase] of Object.entries(results)) {
  for (const [kind, samples] of Object.entries(byCase)) {
    if (samples.length === 0) continue;
    for (const metric of Object.keys(samples[0] ?? {}).filter((k) => k !== 'trial')) {
      const s = summarize(samples.map((x) => x[metric]!));
      summary[`${kind}.${mode}.${metric}`] = s;
      rows.push({
        case: kind,
        liveness: mode,
        metric,
        n: s.count,
        median: Math.round(s.p50),
        max: Math.round(s.max),
        min: Math.round(s.min),
      });
    }
  }
}
printTable(rows);
const file = writeResult('liveness', {
  bench: 'liveness',
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  options: { trials, modes, cases },
  method:
    'SIGKILL of a child process (node --import tsx test/helpers/liveness-child.ts); times from Date.now() just before kill() to the in-process event: the retry handler starting (worker), leader:gained and the first slot:published (leader). Defaults everywhere: worker lease 30s, leader lease 15s, safety tick 10s, liveness check 500ms, grace 1s.',
  machine: { ...machineInfo(), loadavgAtStart: loadAtStart },
  servers: serverVersions(),
  summary,
  samples: results,
  error: failure,
});
console.log(`results: ${file}`);
// After the results are safe: a broker that stopped answering must not hold them back.
const cleanup = (async () => {
  for (const scope of scopes) await deleteScopeTopology(AMQP_URL, scope).catch(() => {});
})();
await Promise.race([cleanup, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
process.exit(failure ? 1 : 0);
