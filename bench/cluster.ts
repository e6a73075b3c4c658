/**
 * cluster: the fleet on a 3-node RabbitMQ cluster, and the node leading the job queues
 * stopped mid-run (issue 11.7). Three throwaway nodes on their own ports are clustered
 * (bench/lib/rabbit-cluster.ts); schedulers and workers run as separate processes
 * (bench/lib/cluster-child.ts, warren from this working tree's source), each given the
 * three node URLs (rotated, so every node has clients); jobs fire every second. After a
 * warm-up the node that leads most `{scope}.jobs.*` quorum queues is stopped; the fleet runs
 * on; then the run rows are checked:
 *  - every slot from the first to the end is there, once (no gap, no duplicate row);
 *  - every slot ran (succeeded), and no handler ran twice for one run id without a recorded
 *    retry (attempt count);
 *  - every process is still alive, and each client of the stopped node moved to another.
 *
 *   npx tsx bench/cluster.ts                   # from the repo root (npm run --prefix bench cluster)
 *   npx tsx bench/cluster.ts --before 20 --after 40 --jobs 4 --workers 2 --schedulers 2
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseCli, intOption } from './lib/cli.js';
import { DATABASE_URL, assertLoopback, benchToken } from './lib/env.js';
import { loadNow, machineInfo, serverVersions, writeResult } from './lib/report.js';
import { startRabbitCluster, type RabbitCluster } from './lib/rabbit-cluster.js';
import type { ClusterChildConfig } from './lib/cluster-child.js';
import { migrate } from './lib/warren.js';
import { jsonLines } from '../test/helpers/json-lines.js';
import { waitFor } from '../test/helpers/wait.js';

const USAGE = `
Usage: npx tsx bench/cluster.ts [options]     (run from the repository root)

Starts a throwaway 3-node RabbitMQ cluster, runs schedulers and workers against it, stops
the node leading the job queues mid-run, and checks that no slot was lost or run twice.

  --before S       seconds of running before the node is stopped      (default 20)
  --after S        seconds of running after                           (default 40)
  --jobs N         jobs, each every second on its own queue           (default 4)
  --workers N      worker processes                                   (default 2)
  --schedulers N   scheduler processes                                (default 2)
  --allow-remote   allow a non-loopback DATABASE_URL
  -h, --help       this text

Results: bench/results/cluster-<date>.json
`;

const args = parseCli(USAGE, {
  before: { type: 'string', default: '20' },
  after: { type: 'string', default: '40' },
  jobs: { type: 'string', default: '4' },
  workers: { type: 'string', default: '2' },
  schedulers: { type: 'string', default: '2' },
  'allow-remote': { type: 'boolean', default: false },
});
const beforeSec = intOption(args.before, 'before', 5, 600);
const afterSec = intOption(args.after, 'after', 5, 600);
const jobCount = intOption(args.jobs, 'jobs', 1, 50);
const workerCount = intOption(args.workers, 'workers', 1, 10);
const schedulerCount = intOption(args.schedulers, 'schedulers', 1, 10);
if (!args['allow-remote']) assertLoopback(DATABASE_URL, 'DATABASE_URL');

const PERIOD_MS = 1000;
const CHILD = fileURLToPath(new URL('./lib/cluster-child.ts', import.meta.url));
const token = benchToken('cluster');
const scope = token.replace(/_/g, '-');
const schema = token;
const say = (line: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);

interface Child {
  name: string;
  role: 'worker' | 'scheduler';
  process: ChildProcess;
  lines: Array<Record<string, unknown>>;
  /** warren:broker debug lines: the node URL after each connect, undefined after each disconnect. */
  broker: Array<{ at: number; event: 'connect' | 'disconnect'; url: string }>;
  stderr: string;
}

function spawnChild(name: string, config: ClusterChildConfig): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEBUG: 'warren:broker', DEBUG_COLORS: 'no' },
  });
  const child: Child = { name, role: config.role, process: proc, lines: jsonLines(proc.stdout!), broker: [], stderr: '' };
  let partial = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    child.stderr = (child.stderr + chunk).slice(-20_000);
    const text = partial + chunk;
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /warren:broker (connected to|disconnected from) (\S+)/.exec(line);
      if (m) child.broker.push({ at: Date.now(), event: m[1] === 'connected to' ? 'connect' : 'disconnect', url: m[2]! });
    }
  });
  return child;
}

const alive = (c: Child) => c.process.exitCode === null && c.process.signalCode === null;
const portOf = (url: string) => new URL(url.replace(':***@', ':x@')).port;

let cluster: RabbitCluster | undefined;
const children: Child[] = [];
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
admin.on('error', () => {});

try {
  const clusterStarted = Date.now();
  cluster = await startRabbitCluster(`cluster-${scope.slice(-7)}`, 3, say);
  const clusterStartMs = Date.now() - clusterStarted;
  const members = await cluster.runningNodes();
  say(`cluster of ${members.length}: ${members.join(', ')} (${clusterStartMs} ms)`);
  const nodeOfPort = new Map(cluster.nodes.map((n) => [String(n.port), n.nodename]));

  await migrate(admin, { schema });
  const urls = cluster.urls;
  const base = { databaseUrl: DATABASE_URL, schema, scope, jobs: jobCount, every: `${PERIOD_MS}ms` };
  // Rotated lists: client k starts on node k mod 3, so every node has clients to lose.
  const rotated = (k: number) => [...urls.slice(k % urls.length), ...urls.slice(0, k % urls.length)];
  let k = 0;
  for (let i = 0; i < schedulerCount; i++, k++)
    children.push(spawnChild(`scheduler-${i + 1}`, { ...base, role: 'scheduler', instanceId: `s${i + 1}`, amqpUrls: rotated(k) }));
  for (let i = 0; i < workerCount; i++, k++)
    children.push(spawnChild(`worker-${i + 1}`, { ...base, role: 'worker', instanceId: `w${i + 1}`, amqpUrls: rotated(k) }));
  for (const child of children) {
    await waitFor(
      () => {
        if (!alive(child)) throw new Error(`${child.name} exited: ${child.stderr.slice(-2000)}`);
        return child.lines.some((l) => l.ready);
      },
      `${child.name} ready`,
      { timeoutMs: 180_000, intervalMs: 100 },
    );
  }
  say(
    `${children.length} processes ready: ${children.map((c) => `${c.name} on ${nodeOfPort.get(portOf(c.broker.at(-1)?.url ?? '')) ?? '?'}`).join(', ')}`,
  );

  const succeeded = async (after: Date) =>
    Number(
      (
        await admin.query(
          `SELECT count(*)::int AS n FROM "${schema}".runs WHERE scope = $1 AND status = 'succeeded' AND scheduled_for > $2`,
          [scope, after],
        )
      ).rows[0].n,
    );
  await waitFor(async () => (await succeeded(new Date(0))) >= jobCount, 'the first runs of every job', {
    timeoutMs: 120_000,
    intervalMs: 200,
  });
  // The checked window starts here, with the whole fleet up and running: slots overdue
  // while the processes were still booting are the catch-up policy's (recorded `missed`).
  const warmAt = new Date();
  await new Promise((resolve) => setTimeout(resolve, beforeSec * 1000));

  const before = await cluster.quorumQueues(`${scope}.jobs.`);
  const jobQueues = [...before].filter(([name]) => !name.endsWith('.dead'));
  const spread = jobQueues.every(([, q]) => q.members.length === 3);
  const leaders = new Map<string, number>();
  for (const [, q] of jobQueues) leaders.set(q.leader, (leaders.get(q.leader) ?? 0) + 1);
  const [victimName] = [...leaders].sort((a, b) => b[1] - a[1])[0] ?? [members[0]!];
  const victim = cluster.nodes.find((n) => n.nodename === victimName)!;
  say(
    `job queues: ${jobQueues.length}, each on ${spread ? 'all 3 nodes' : 'FEWER than 3 nodes'}; leaders ${JSON.stringify(Object.fromEntries(leaders))}`,
  );
  const victimClients = children.filter((c) => c.broker.at(-1) && portOf(c.broker.at(-1)!.url) === String(victim.port)).map((c) => c.name);
  say(
    `stopping ${victim.nodename} (leads ${leaders.get(victimName) ?? 0} job queues; clients on it: ${victimClients.join(', ') || 'none'})`,
  );

  const leading = (c: Child) => c.lines.filter((l) => typeof l.leading === 'boolean').at(-1)?.leading === true;
  const leaderAtStop = children.find((c) => c.role === 'scheduler' && leading(c))?.name ?? null;
  const stopAt = new Date();
  await victim.stop();
  const stoppedAt = new Date();
  say(`stopped in ${stoppedAt.getTime() - stopAt.getTime()} ms`);
  const firstAfter = Date.now();
  await waitFor(async () => (await succeeded(stoppedAt)) >= jobCount, 'runs succeeding after the stop', {
    timeoutMs: 120_000,
    intervalMs: 100,
  });
  const recoveryMs = Date.now() - firstAfter;
  say(`every job ran again ${recoveryMs} ms after the node was down`);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, afterSec * 1000 - recoveryMs)));

  const endAt = new Date();
  const processesAlive = children.filter(alive).map((c) => c.name);
  // Drain: every slot up to the end reaches a final status.
  await waitFor(
    async () =>
      Number(
        (
          await admin.query(
            `SELECT count(*)::int AS n FROM "${schema}".runs WHERE scope = $1 AND scheduled_for <= $2 AND status IN ('pending', 'running')`,
            [scope, endAt],
          )
        ).rows[0].n,
      ) === 0,
    'the runs up to the end to finish',
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  const after = await cluster.quorumQueues(`${scope}.jobs.`);

  // The checks.
  const { rows } = await admin.query<{
    job_id: string;
    scheduled_for: Date;
    status: string;
    attempt: number;
    run_id: string;
    trigger_source: string;
  }>(
    `SELECT job_id, scheduled_for, status, attempt, run_id, trigger_source FROM "${schema}".runs
      WHERE scope = $1 AND scheduled_for > $2 AND scheduled_for <= $3 ORDER BY job_id, scheduled_for`,
    [scope, warmAt, endAt],
  );
  const { rows: bootRows } = await admin.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM "${schema}".runs WHERE scope = $1 AND scheduled_for <= $2 GROUP BY status`,
    [scope, warmAt],
  );
  const executions = new Map<string, number>();
  for (const c of children) for (const l of c.lines) if (typeof l.ran === 'string') executions.set(l.ran, (executions.get(l.ran) ?? 0) + 1);
  const statuses: Record<string, number> = {};
  const missing: string[] = [];
  const duplicateRows: string[] = [];
  const doubled: string[] = [];
  const notRun: string[] = [];
  const byJob = new Map<string, typeof rows>();
  for (const row of rows) {
    statuses[row.status] = (statuses[row.status] ?? 0) + 1;
    byJob.set(row.job_id, [...(byJob.get(row.job_id) ?? []), row]);
    const ran = executions.get(row.run_id) ?? 0;
    if (ran > row.attempt) doubled.push(`${row.job_id}@${row.scheduled_for.toISOString()} ran ${ran}x, attempt ${row.attempt}`);
    if (row.status !== 'succeeded' || ran === 0)
      notRun.push(`${row.job_id}@${row.scheduled_for.toISOString()}: ${row.status}, ran ${ran}x`);
  }
  for (const [job, list] of byJob) {
    for (let t = list[0]!.scheduled_for.getTime() - PERIOD_MS; t > warmAt.getTime(); t -= PERIOD_MS)
      missing.push(`${job}@${new Date(t).toISOString()}`);
    for (let i = 1; i < list.length; i++) {
      const gap = list[i]!.scheduled_for.getTime() - list[i - 1]!.scheduled_for.getTime();
      if (gap === 0) duplicateRows.push(`${job}@${list[i]!.scheduled_for.toISOString()}`);
      for (let t = list[i - 1]!.scheduled_for.getTime() + PERIOD_MS; t < list[i]!.scheduled_for.getTime(); t += PERIOD_MS)
        missing.push(`${job}@${new Date(t).toISOString()}`);
    }
    const last = list.at(-1)!.scheduled_for.getTime();
    // Slots due before the end whose row never appeared.
    for (let t = last + PERIOD_MS; t <= endAt.getTime() - 2 * PERIOD_MS; t += PERIOD_MS)
      missing.push(`${job}@${new Date(t).toISOString()}`);
  }
  const jobsSeen = byJob.size;
  // Lateness: handler start minus the slot's time, from the workers' lines.
  const lateness = { before: [] as number[], stop: [] as number[], after: [] as number[] };
  for (const c of children) {
    for (const l of c.lines) {
      if (typeof l.ran !== 'string' || typeof l.scheduledFor !== 'string') continue;
      const slot = Date.parse(l.scheduledFor);
      if (slot <= warmAt.getTime() || slot > endAt.getTime()) continue;
      const late = (l.at as number) - slot;
      if (slot < stopAt.getTime() - 2 * PERIOD_MS) lateness.before.push(late);
      else if (slot <= stoppedAt.getTime() + recoveryMs + 2 * PERIOD_MS) lateness.stop.push(late);
      else lateness.after.push(late);
    }
  }
  const quantiles = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : null);
    return { runs: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? null };
  };
  const latenessMs = { beforeStop: quantiles(lateness.before), aroundStop: quantiles(lateness.stop), afterStop: quantiles(lateness.after) };
  say(`slot → handler start (ms): ${JSON.stringify(latenessMs)}`);
  const failover = children.map((c) => {
    const afterStop = c.broker.filter((b) => b.at >= stopAt.getTime());
    return {
      process: c.name,
      nodesBefore: [
        ...new Set(c.broker.filter((b) => b.at < stopAt.getTime() && b.event === 'connect').map((b) => nodeOfPort.get(portOf(b.url)))),
      ],
      nodesAfter: [...new Set(afterStop.filter((b) => b.event === 'connect').map((b) => nodeOfPort.get(portOf(b.url))))],
      disconnects: afterStop.filter((b) => b.event === 'disconnect').length,
      alive: alive(c),
    };
  });
  const movedOff = victimClients.every((name) => {
    const f = failover.find((x) => x.process === name)!;
    return f.nodesAfter.length > 0 && !f.nodesAfter.includes(victim.nodename);
  });
  const checks = {
    window: `${warmAt.toISOString()} .. ${endAt.toISOString()}`,
    slots: rows.length,
    jobsSeen,
    statuses,
    missingSlots: missing.length,
    duplicateRows: duplicateRows.length,
    doubledRuns: doubled.length,
    notRun: notRun.length,
    processesAlive: `${processesAlive.length}/${children.length}`,
    clientsMovedOffStoppedNode: movedOff,
    queuesOnAllThreeNodes: spread,
  };
  const ok =
    jobsSeen === jobCount &&
    missing.length === 0 &&
    duplicateRows.length === 0 &&
    doubled.length === 0 &&
    notRun.length === 0 &&
    processesAlive.length === children.length &&
    movedOff &&
    spread;
  console.log(JSON.stringify(checks, null, 2));
  for (const list of [missing, duplicateRows, doubled, notRun]) for (const line of list.slice(0, 10)) console.log(`  ${line}`);
  const file = writeResult('cluster', {
    command: `npx tsx bench/cluster.ts --before ${beforeSec} --after ${afterSec} --jobs ${jobCount} --workers ${workerCount} --schedulers ${schedulerCount}`,
    processes: 'separate node processes (bench/lib/cluster-child.ts), warren from the working tree source via tsx',
    cluster: { nodes: members, startMs: clusterStartMs },
    stopped: {
      node: victim.nodename,
      ledJobQueues: leaders.get(victimName) ?? 0,
      clientsOnIt: victimClients,
      leaderSchedulerAtStop: leaderAtStop,
      leaderSchedulerAtEnd: children.find((c) => c.role === 'scheduler' && leading(c))?.name ?? null,
      stopMs: stoppedAt.getTime() - stopAt.getTime(),
    },
    leadersBefore: Object.fromEntries([...before].map(([n, q]) => [n, q.leader])),
    leadersAfter: Object.fromEntries([...after].map(([n, q]) => [n, q.leader])),
    recoveryMs,
    latenessMs,
    bootSlots: Object.fromEntries(bootRows.map((r) => [r.status, r.n])),
    window: { warmAt, firstSlot: rows[0]?.scheduled_for ?? null, stopAt, stoppedAt, end: endAt },
    checks,
    failover,
    problems: { missing, duplicateRows, doubled, notRun },
    ok,
    loadavg: loadNow(),
    machine: machineInfo(),
    servers: serverVersions(),
  });
  say(
    `${ok ? 'OK' : 'FAILED'}: ${rows.length} slots, ${missing.length} missing, ${doubled.length} run twice, ${notRun.length} not run; loadavg ${loadNow().join(' ')}; ${file}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  for (const c of children) if (alive(c)) c.process.kill('SIGTERM');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (!alive(c)) return resolve();
          const timer = setTimeout(() => {
            c.process.kill('SIGKILL');
            resolve();
          }, 30_000);
          c.process.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
  await cluster?.destroy();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await admin.end();
}
