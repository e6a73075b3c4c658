/**
 * warren behind a real PgBouncer in transaction pooling mode (Debian's `pgbouncer`, started
 * for this file on its own port by test/helpers/pgbouncer.ts): every scheduler and worker
 * pool goes through it with `pgbouncer: true`, the one option such a deployment sets. The
 * main scenarios of the scheduler and worker suites: scheduler-mode slots and a queue-mode
 * chain run once each across two schedulers and two workers, leadership hands over, pause /
 * run-now / resume, and a failed attempt is retried through the delay topology.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import type { JobContext } from '../../src/define/types.js';
import { createScheduler, type Scheduler, type TickSummary } from '../../src/scheduler/index.js';
import { migrate } from '../../src/store/migrate.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { cleanupScope } from '../helpers/amqp.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { pgbouncerInstalled, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { waitFor } from '../helpers/wait.js';

const installed = pgbouncerInstalled();
if (!installed) console.warn('[pgbouncer.test] pgbouncer is not installed (apt-get install pgbouncer): skipped');

interface Execution {
  jobId: string;
  runId: string;
  trigger: string;
  attempt: number;
  scheduledFor: number;
  startedAt: number;
}

const ticker = defineJob({ id: 'ticker', schedule: { every: '1s' } });
const chain = defineJob({ id: 'chain', schedule: { every: '1s' }, reschedule: 'queue' });
const flaky = defineJob({ id: 'flaky', retry: { maxAttempts: 2, backoff: { type: 'fixed', delay: '1s', jitter: 0 } } });

describe.skipIf(!installed)('behind PgBouncer (transaction pooling) with pgbouncer: true', () => {
  let bouncer: PgBouncer;
  let db: TestDatabase;
  const scope = uniqueToken('pgbouncer').replace(/_/g, '-');
  const pools: pg.Pool[] = [];
  const schedulers: Scheduler[] = [];
  const workers: Worker[] = [];
  const executions: Execution[] = [];
  const ticks: TickSummary[] = [];

  const viaBouncer = () => {
    const pool = new pg.Pool({ connectionString: bouncer.url, max: 4 });
    pool.on('error', () => {});
    pools.push(pool);
    return pool;
  };
  const handler = (ctx: JobContext) => {
    executions.push({
      jobId: ctx.jobId,
      runId: ctx.runId,
      trigger: ctx.triggerSource,
      attempt: ctx.attempt,
      scheduledFor: ctx.scheduledFor.getTime(),
      startedAt: Date.now(),
    });
    if (ctx.jobId === 'flaky' && ctx.attempt === 1) throw new Error('first attempt fails');
  };
  const executionsOf = (jobId: string, after = 0) => executions.filter((e) => e.jobId === jobId && e.startedAt > after);
  const leader = () => schedulers.find((s) => s.isLeader());
  const moreTicks = async (n: number) => {
    const target = ticks.length + n;
    await waitFor(() => ticks.length >= target, `${n} more ticks`);
  };
  const scheduler = (instanceId: string) => {
    const s = createScheduler({
      pool: viaBouncer(),
      schema: db.schema,
      scope,
      amqpUrl: AMQP_URL,
      jobs: [ticker, chain, flaky],
      instanceId,
      pgbouncer: true,
      migrate: false,
      leaseTtl: '5s',
      // No LISTEN behind PgBouncer: the safety tick is how the leader sees control changes.
      safetyTick: '500ms',
      outboxGrace: '1s',
    });
    s.on('tick', (t) => ticks.push(t));
    s.on('error', () => {});
    schedulers.push(s);
    return s;
  };
  const worker = (workerId: string) => {
    const w = createWorker({
      pool: viaBouncer(),
      schema: db.schema,
      amqpUrl: AMQP_URL,
      scope,
      workerId,
      pgbouncer: true,
      leaseTtl: '10s',
      jobs: [
        { definition: ticker, handler },
        { definition: chain, handler },
        { definition: flaky, handler },
      ],
    });
    w.on('error', () => {});
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    bouncer = await startPgBouncer();
    db = await createTestDatabase('pgbouncer');
    // Migrations take only transaction-scoped locks: they run through PgBouncer too.
    await migrate(viaBouncer(), { schema: db.schema });
    for (const s of [scheduler('a'), scheduler('b')]) await s.start();
    for (const w of [worker('w1'), worker('w2')]) await w.start();
    await Promise.all([...schedulers, ...workers].map((x) => x.ready({ timeout: '30s' })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(schedulers.map((s) => s.close()));
    await Promise.all(pools.map((p) => p.end().catch(() => {})));
    await bouncer?.stop();
    await db?.drop();
    await cleanupScope(scope);
  }, 60_000);

  it('runs scheduler-mode slots and a queue-mode chain, each once, across two schedulers and two workers', async () => {
    await waitFor(() => executionsOf('ticker').length >= 4 && executionsOf('chain').length >= 3, 'runs of both jobs');
    expect(schedulers.filter((s) => s.isLeader())).toHaveLength(1);
    const slots = executionsOf('ticker').map((e) => e.scheduledFor);
    expect(new Set(slots).size).toBe(slots.length);
    expect(new Set(executions.map((e) => e.runId)).size).toBe(executions.length);
    // It really went through PgBouncer: its console counts the transactions it passed.
    const stats = await bouncer.stats();
    expect(Number(stats.find((s) => s.database === new URL(bouncer.url).pathname.slice(1))?.total_xact_count ?? 0)).toBeGreaterThan(0);
  });

  it('hands leadership over when the leader closes, and no slot is lost or doubled', async () => {
    const first = leader()!;
    const closedAt = Date.now();
    await first.close();
    await waitFor(() => leader() !== undefined && leader() !== first, 'the other scheduler to lead');
    await waitFor(() => executionsOf('ticker', closedAt).length >= 3, 'slots after the handover');
    // Every slot has its row (whatever became of it): none lost in the handover.
    const runs = (await leader()!.runs('ticker', { limit: 1000 })).filter((r) => r.triggerSource !== 'manual');
    const rows = runs.map((r) => [r.scheduledFor.getTime(), r.triggerSource, r.status] as const).sort((a, b) => a[0] - b[0]);
    const gaps = rows.slice(1).filter((r, i) => r[0] - rows[i]![0] !== 1000);
    expect(gaps, JSON.stringify(rows)).toEqual([]);
    const slots = executionsOf('ticker').map((e) => e.scheduledFor);
    expect(new Set(slots).size).toBe(slots.length);
  });

  it('pause stops new runs, run-now runs once while paused, resume restarts', async () => {
    const control = leader()!;
    await control.pause('ticker', { note: 'through pgbouncer' });
    await control.pause('chain');
    const pausedAt = Date.now();
    await waitFor(async () => (await control.runs('chain', { status: ['pending', 'running'] })).length === 0, 'the chain link to die');
    await moreTicks(4);
    // A slot a worker claimed just before the pause (its claim lead, at most 250 ms) still starts on its instant.
    expect(executionsOf('ticker', pausedAt + 350)).toEqual([]);
    expect(executionsOf('chain', pausedAt + 350)).toEqual([]);

    const run = await control.runNow('ticker');
    await waitFor(() => executions.find((e) => e.runId === run.runId), 'the run-now run');
    expect(executions.filter((e) => e.runId === run.runId)).toMatchObject([{ trigger: 'manual' }]);

    const resumedAt = Date.now();
    await control.resume('chain');
    await control.resume('ticker');
    await waitFor(() => executionsOf('chain', resumedAt).length >= 2 && executionsOf('ticker', resumedAt).length >= 2, 'runs after resume');
  });

  it('retries a failed attempt through the delay topology', async () => {
    const run = await leader()!.runNow('flaky');
    await waitFor(
      async () => (await leader()!.runs('flaky', { status: ['succeeded'] })).find((r) => r.runId === run.runId),
      'the retry to succeed',
    );
    expect(executions.filter((e) => e.runId === run.runId).map((e) => e.attempt)).toEqual([1, 2]);
  });
});
