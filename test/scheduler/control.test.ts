import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import type { JobContext } from '../../src/define/types.js';
import { createScheduler, type Scheduler, type TickSummary } from '../../src/scheduler/index.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { rejects } from '../helpers/rejects.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

interface Execution {
  jobId: string;
  runId: string;
  trigger: string;
  scheduledFor: number;
  startedAt: number;
  params: Record<string, unknown>;
}

const ticker = defineJob({ id: 'ticker', schedule: { every: '1s' } });
const chain = defineJob({ id: 'chain', schedule: { every: '1s' }, reschedule: 'queue' });

describe('control API (real PostgreSQL, RabbitMQ and worker; real clock)', () => {
  let fx: SchedulerFixture;
  /** The leader. */
  let leader: Scheduler;
  /** A control-only instance without a broker: its actions reach the leader by NOTIFY and the outbox. */
  let control: Scheduler;
  let worker: Worker;
  const executions: Execution[] = [];
  const ticks: TickSummary[] = [];

  const handler = (ctx: JobContext) => {
    executions.push({
      jobId: ctx.jobId,
      runId: ctx.runId,
      trigger: ctx.triggerSource,
      scheduledFor: ctx.scheduledFor.getTime(),
      startedAt: Date.now(),
      params: ctx.params,
    });
  };
  const executionsOf = (jobId: string, after = 0) => executions.filter((e) => e.jobId === jobId && e.startedAt > after);
  /** Waits until the leader has ticked `n` more times: "nothing happened" is only claimed after that. */
  const moreTicks = async (n: number) => {
    const target = ticks.length + n;
    await waitFor(() => ticks.length >= target, `${n} more ticks`);
  };

  beforeAll(async () => {
    fx = await schedulerFixture('control');
    const a = await fx.pool(`${fx.scope}-leader`);
    const b = await fx.pool(`${fx.scope}-control`);
    const w = await fx.pool(`${fx.scope}-worker`);
    leader = createScheduler({
      pool: a.pool,
      schema: fx.schema,
      scope: fx.scope,
      amqpUrl: AMQP_URL,
      jobs: [ticker, chain],
      instanceId: 'leader',
      leaseTtl: '5s',
      safetyTick: '500ms',
      outboxGrace: '1s',
    });
    control = createScheduler({
      pool: b.pool,
      schema: fx.schema,
      scope: fx.scope,
      role: 'control-only',
      jobs: [ticker, chain],
      instanceId: 'control',
    });
    leader.on('tick', (t) => ticks.push(t));
    leader.on('error', () => {});
    control.on('error', () => {});
    worker = createWorker({
      pool: w.pool,
      schema: fx.schema,
      amqpUrl: AMQP_URL,
      scope: fx.scope,
      jobs: [
        { definition: ticker, handler },
        { definition: chain, handler },
      ],
      leaseTtl: '10s',
    });
    await leader.start();
    await control.start();
    await worker.start();
  });

  afterAll(async () => {
    await control?.close();
    await leader?.close();
    await worker?.close();
    await fx.teardown();
  });

  it('runs a scheduler-mode job and a queue-mode chain', async () => {
    await waitFor(() => executionsOf('ticker').length >= 2 && executionsOf('chain').length >= 2, 'two runs of each job');
    expect(leader.isLeader()).toBe(true);
    expect(control.isLeader()).toBe(false);
    expect(
      executionsOf('chain')
        .slice(1)
        .every((e) => e.trigger === 'chain'),
    ).toBe(true);
  });

  it('pause stops new runs, a queue-mode chain too', async () => {
    const paused = await control.pause('ticker', { note: 'maintenance window', actor: 'alice' });
    await control.pause('chain', { note: 'maintenance window', actor: 'alice' });
    const pausedAt = Date.now();
    expect(paused).toMatchObject({ id: 'ticker', enabled: false, paused: true, pauseNote: 'maintenance window' });
    // The chain's link in flight is claimed and cancelled (stale epoch) instead of running.
    await waitFor(async () => (await control.runs('chain', { status: ['pending', 'running'] })).length === 0, 'the chain link to die');
    await moreTicks(4);
    // A slot a worker claimed just before the pause (its claim lead, at most 250 ms) still starts on its instant.
    expect(executionsOf('ticker', pausedAt + 350)).toEqual([]);
    expect(executionsOf('chain', pausedAt + 350)).toEqual([]);
    const list = await control.list();
    expect(list.map((j) => [j.id, j.paused, j.pauseNote])).toEqual(
      expect.arrayContaining([
        ['ticker', true, 'maintenance window'],
        ['chain', true, 'maintenance window'],
      ]),
    );
    expect((await control.runs('chain', { limit: 100 })).some((r) => r.status === 'cancelled')).toBe(true);
  });

  it('runNow while paused runs once, with trigger_source manual and its params', async () => {
    const run = await control.runNow('ticker', { params: { reason: 'check' }, actor: 'alice' });
    expect(run).toMatchObject({ jobId: 'ticker', triggerSource: 'manual', status: 'pending', params: { reason: 'check' } });
    // The control-only instance has no broker: the leader's outbox publishes the run.
    await waitFor(() => executions.find((e) => e.runId === run.runId), 'the manual run');
    await moreTicks(3);
    const manual = executions.filter((e) => e.jobId === 'ticker' && e.trigger === 'manual');
    expect(manual).toHaveLength(1);
    expect(manual[0]!.params).toEqual({ reason: 'check' });
    expect((await control.get('ticker')).paused).toBe(true);
  });

  it('resume restarts both without doubling the chain', async () => {
    const resumedAt = Date.now();
    await control.resume('chain', { actor: 'alice' });
    await control.resume('ticker', { actor: 'alice' });
    await waitFor(() => executionsOf('chain', resumedAt).length >= 4 && executionsOf('ticker', resumedAt).length >= 2, 'runs after resume');
    const epoch = (await control.get('chain')).job.epoch;
    const runs = await control.runs('chain', { limit: 200 });
    const after = executionsOf('chain', resumedAt);
    for (const e of after) expect(runs.find((r) => r.runId === e.runId)?.epoch).toBe(epoch);
    // One chain: each link starts about a period after the previous one finished, never beside it.
    for (let i = 1; i < after.length; i++) expect(after[i]!.startedAt - after[i - 1]!.startedAt).toBeGreaterThanOrEqual(900);
  });

  it('an update of the period takes effect at the next slot and survives a restart', async () => {
    const updated = await control.update('ticker', { every: '3s' }, { actor: 'bob' });
    const updatedAt = Date.now();
    expect(updated.schedule).toEqual({ kind: 'every', everyMs: 3000 });
    expect(updated.overridden).toContain('schedule');
    const next = updated.nextDueAt!.getTime();
    expect(next % 3000).toBe(0);
    expect(next).toBeGreaterThan(updatedAt - 1000);
    await waitFor(() => executionsOf('ticker').filter((e) => e.scheduledFor >= next).length >= 2, 'two runs on the new period', {
      timeoutMs: 20_000,
    });
    const onNewPeriod = executionsOf('ticker').filter((e) => e.scheduledFor >= next && e.trigger !== 'manual');
    expect(onNewPeriod[0]!.scheduledFor).toBe(next);
    expect(onNewPeriod.every((e) => e.scheduledFor % 3000 === 0)).toBe(true);

    // A restart of code that still says `every: 1s` keeps the override.
    const { pool } = await fx.pool(`${fx.scope}-restart`);
    const restarted = createScheduler({ pool, schema: fx.schema, scope: fx.scope, role: 'control-only', jobs: [ticker, chain] });
    await restarted.start();
    expect((await restarted.get('ticker')).schedule).toEqual({ kind: 'every', everyMs: 3000 });
    await restarted.close();
  });

  it('upserts the seed body, backfills idempotently and removes', async () => {
    const body = {
      job_id: 'seed-scan',
      queue: `${fx.scope}.jobs.seed-scan`,
      cron_expr: '*/5 * * * *',
      reschedule_mode: 'scheduler',
      default_params: { scan_mode: 'swing' },
      description: 'Buy Scanner auto cycle',
      enabled: true,
    };
    const created = await control.upsert(body, { actor: 'http' });
    expect(created).toMatchObject({
      id: 'seed-scan',
      queue: 'seed-scan',
      schedule: { kind: 'cron', cron: '*/5 * * * *', tz: 'UTC' },
      description: 'Buy Scanner auto cycle',
      enabled: true,
    });
    expect((await control.list()).map((j) => j.id)).toContain('seed-scan');

    const to = new Date();
    const from = new Date(to.getTime() - 30 * 60_000);
    const first = await control.backfill('seed-scan', { from, to, actor: 'bob' });
    expect(first.slots).toBeGreaterThanOrEqual(6);
    expect(first.inserted).toHaveLength(first.slots);
    expect(first.inserted.every((r) => r.triggerSource === 'backfill')).toBe(true);
    const again = await control.backfill('seed-scan', { from, to });
    expect(again).toEqual({ slots: first.slots, inserted: [] });
    expect((await rejects(control.backfill('seed-scan', { from: new Date(0), to }))).code).toBe('ERR_INVALID_ARGUMENT');

    await control.remove('seed-scan', { actor: 'bob' });
    expect((await rejects(control.get('seed-scan'))).code).toBe('ERR_JOB_NOT_FOUND');
  });

  it('writes every action to the audit table', async () => {
    const audit = await control.audit({ limit: 100 });
    const actions = audit.map((a) => `${a.action}:${a.jobId}:${a.actor ?? ''}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'pause:ticker:alice',
        'pause:chain:alice',
        'run-now:ticker:alice',
        'resume:chain:alice',
        'resume:ticker:alice',
        'update:ticker:bob',
        'create:seed-scan:http',
        'backfill:seed-scan:bob',
        'remove:seed-scan:bob',
      ]),
    );
    expect((await control.audit({ jobId: 'chain' })).every((a) => a.jobId === 'chain')).toBe(true);
  });

  it('raises typed errors for unknown ids, invalid patches and arguments', async () => {
    const calls = [
      () => control.get('nope'),
      () => control.pause('nope'),
      () => control.resume('nope'),
      () => control.runNow('nope'),
      () => control.update('nope', { every: '5s' }),
      () => control.remove('nope'),
      () => control.runs('nope'),
      () => control.backfill('nope', { from: new Date(0), to: new Date() }),
    ];
    for (const call of calls) expect((await rejects(call())).code).toBe('ERR_JOB_NOT_FOUND');
    expect(await rejects(control.update('ticker', { every: 'soon' }))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'every' });
    expect(await rejects(control.update('ticker', { evry: '5s' }))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'evry' });
    expect(await rejects(control.update('ticker', { interval_seconds: 0 }))).toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      field: 'interval_seconds',
    });
    expect(await rejects(control.runNow('ticker', { params: [1] as never }))).toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      field: 'params',
    });
    expect(await rejects(control.runNow('ticker', { delay: 'later' }))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'delay' });
    const otherScope = await rejects(control.upsert({ job_id: 'x', queue: 'elsewhere.jobs.x', cron_expr: '* * * * *' }));
    expect(otherScope).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'scope' });
    expect((await rejects(control.upsert({ job_id: 'x', cron_expr: 'nope' }))).code).toBe('ERR_INVALID_JOB');
    // A scheduler-only instance leads but serves no control calls.
    const schedulerOnly = createScheduler({
      pool: fx.db.pool,
      schema: fx.schema,
      scope: fx.scope,
      amqpUrl: AMQP_URL,
      role: 'scheduler-only',
    });
    expect(await rejects(schedulerOnly.list())).toMatchObject({ code: 'ERR_INVALID_OPTION', field: 'role' });
    await schedulerOnly.close();
  });
});
