import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/broker/envelope.js';
import { defineJob } from '../../src/define/define-job.js';
import { isWarrenError } from '../../src/errors.js';
import { workQueueName } from '../../src/names.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import type { ReapedRun } from '../../src/scheduler/index.js';
import type { NewRun } from '../../src/store/port.js';
import { randomUUID } from '../../src/util/uuid.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

function optionError(build: () => unknown): { field: string | undefined; message: string } {
  try {
    build();
  } catch (error) {
    if (isWarrenError(error, 'ERR_INVALID_OPTION')) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected ERR_INVALID_OPTION');
}

describe('createScheduler options', () => {
  const pool = { query: async () => ({ rows: [] }) };
  const base = { pool, scope: 'opts', amqpUrl: 'amqp://127.0.0.1' };

  it('names the option, the rule and the value', () => {
    expect(optionError(() => createScheduler({ ...base, leaseTtl: '0s' }))).toEqual({
      field: 'leaseTtl',
      message: 'Invalid scheduler option `leaseTtl`: expected a duration >= 1s (such as "30s", or a number of seconds), got "0s"',
    });
    expect(optionError(() => createScheduler({ ...base, role: 'boss' as never })).message).toBe(
      'Invalid scheduler option `role`: expected one of "auto", "scheduler-only", "control-only", got "boss"',
    );
    expect(optionError(() => createScheduler({ ...base, leaseTTL: '5s' } as never))).toMatchObject({
      field: 'leaseTTL',
      message: 'Invalid scheduler option `leaseTTL`: unknown option',
    });
    expect(optionError(() => createScheduler({ ...base, scope: 'Bad Scope' })).field).toBe('scope');
    expect(optionError(() => createScheduler({ ...base, maxSlotsPerTick: 0 })).field).toBe('maxSlotsPerTick');
    expect(optionError(() => createScheduler({ ...base, leaseTtl: '3s', renewInterval: '3s' })).field).toBe('renewInterval');
    expect(optionError(() => createScheduler({ scope: 'opts', amqpUrl: 'amqp://x' })).field).toBe('pool');
    expect(optionError(() => createScheduler({ pool, scope: 'opts' })).field).toBe('amqpUrl');
    expect(optionError(() => createScheduler({ ...base, amqpUrl: 'http://x' })).field).toBe('amqpUrl');
    expect(optionError(() => createScheduler({ ...base, amqpUrl: ['amqp://u:secret@a', 'http://u:secret@b'] }))).toEqual({
      field: 'amqpUrl',
      message:
        'Invalid scheduler option `amqpUrl`: expected an amqp:// or amqps:// URL, or a non-empty array of them, got ["amqp://u:***@a","http://u:***@b"]',
    });
    expect(optionError(() => createScheduler(null as never)).field).toBe('(options)');
  });

  it('accepts a list of broker URLs (a cluster)', async () => {
    const s = createScheduler({ ...base, amqpUrl: ['amqp://127.0.0.1:5672', 'amqp://127.0.0.1:5673'] });
    await s.close();
  });

  it('accepts a control-only instance without a broker, and applies the defaults', async () => {
    const s = createScheduler({ pool, scope: 'opts', role: 'control-only' });
    expect(s.role).toBe('control-only');
    expect(s.instanceId).toMatch(/-\d+-[a-z0-9]+$/);
    expect(s.isLeader()).toBe(false);
    await s.close();
    await s.close();
    await expect(s.start()).rejects.toSatisfy((e) => isWarrenError(e, 'ERR_CLOSED'));
  });
});

describe('scheduler lifecycle on the real services', () => {
  let fx: SchedulerFixture;
  const started: Scheduler[] = [];
  const job = defineJob({ id: 'reaped', schedule: { every: '1h' }, retry: { maxAttempts: 2, backoff: { type: 'fixed', delay: '1s' } } });
  const once = defineJob({ id: 'reaped-once', schedule: { every: '1h' }, retry: { maxAttempts: 1 } });

  beforeAll(async () => {
    fx = await schedulerFixture('lifecycle');
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => s.close()));
    await fx.teardown();
  });

  it('boots with the database down, keeps retrying, and leads once it is back', async () => {
    const { pool, proxy } = await fx.pool(`${fx.scope}-late`, { viaProxy: true });
    proxy!.pause();
    const scheduler = createScheduler({
      pool,
      schema: fx.schema,
      scope: fx.scope,
      amqpUrl: AMQP_URL,
      jobs: [job, once],
      leaseTtl: '3s',
      safetyTick: '300ms',
      outboxGrace: '500ms',
    });
    started.push(scheduler);
    const errors: Error[] = [];
    scheduler.on('error', (e) => errors.push(e));
    await scheduler.start(); // does not throw
    expect(scheduler.state).toBe('starting');
    expect(errors.length).toBeGreaterThan(0);
    proxy!.resume();
    await scheduler.ready();
    expect(scheduler.state).toBe('running');
    await waitFor(() => scheduler.isLeader(), 'the late scheduler to lead', { timeoutMs: 20_000 });
    expect((await fx.store.getJob(fx.scope, 'reaped'))?.nextDueAt).not.toBeNull();
  });

  it('republishes runs left unpublished (outbox) and reaps runs whose worker vanished', async () => {
    const scheduler = started[0]!;
    const reaped: ReapedRun[] = [];
    scheduler.on('run:reaped', (r) => reaped.push(r));
    const now = Date.now();
    const jobRow = (await fx.store.getJob(fx.scope, 'reaped'))!;
    const onceRow = (await fx.store.getJob(fx.scope, 'reaped-once'))!;
    const run = (jobId: string, epoch: number, offset: number, extra: Partial<NewRun> = {}): NewRun => ({
      runId: randomUUID(),
      jobId,
      scheduledFor: new Date(now - 600_000 + offset),
      triggerSource: 'manual',
      params: {},
      epoch,
      status: 'pending',
      staleAt: null,
      availableAt: new Date(now - 600_000),
      ...extra,
    });
    // A run inserted by a publisher that crashed before publishing.
    const [orphan] = await fx.store.insertRuns(fx.scope, [run('reaped', jobRow.epoch, 1)], new Date(now - 60_000));
    // Two runs claimed by a worker that then vanished: its lease ran out long ago.
    const lost = await fx.store.insertRuns(
      fx.scope,
      [run('reaped', jobRow.epoch, 2), run('reaped-once', onceRow.epoch, 3)],
      new Date(now - 60_000),
    );
    for (const r of lost) await fx.store.markPublished([{ runId: r.runId, attempt: r.attempt }], new Date(now - 60_000));
    const claimed = await fx.store.claimRuns(
      lost.map((r) => ({ runId: r.runId, attempt: 1 })),
      { now: new Date(now - 30_000), leaseMs: 1000, workerId: 'vanished' },
    );
    expect(claimed.map((c) => c.outcome)).toEqual(['claimed', 'claimed']);

    await waitFor(async () => (await fx.store.getRun(orphan!.runId))?.publishedAt, 'the outbox to publish the orphan');
    await waitFor(() => reaped.length >= 2, 'both lost runs to be reaped');
    const retried = (await fx.store.getRun(lost[0]!.runId))!;
    expect(retried).toMatchObject({ status: 'pending', attempt: 2 });
    expect(retried.attempts[0]).toMatchObject({ attempt: 1, status: 'failed', error: 'lease expired (worker lost)' });
    const failed = (await fx.store.getRun(lost[1]!.runId))!;
    expect(failed).toMatchObject({ status: 'failed', attempt: 1, error: 'lease expired (worker lost)' });
    expect(reaped.map((r) => r.outcome).sort()).toEqual(['failed', 'retry']);

    // The orphan and the retry reached the work queue.
    await waitFor(async () => (await fx.store.getRun(lost[0]!.runId))?.publishedAt, 'the retry to be published');
    const messages = await waitFor(async () => {
      const got = await fx.admin.messageCount(workQueueName(fx.scope, 'reaped'));
      return got !== undefined && got >= 1 ? fx.admin.drain(workQueueName(fx.scope, 'reaped')) : undefined;
    }, 'messages in the work queue');
    const ids = messages.map((m) => {
      const d = decodeMessage(m.content);
      return d.ok ? d.message.run_id : null;
    });
    expect(ids).toContain(orphan!.runId);
  });

  it('stops idempotently and through Symbol.asyncDispose', async () => {
    const { pool } = await fx.pool(`${fx.scope}-dispose`);
    {
      await using scheduler = createScheduler({ pool, schema: fx.schema, scope: fx.scope, amqpUrl: AMQP_URL, leaseTtl: '3s' });
      await scheduler.start();
      await scheduler.ready({ timeout: '30s' });
      expect(scheduler.state).toBe('running');
    }
    const other = started[0]!;
    await other.close();
    await other.close();
    expect(other.isLeader()).toBe(false);
    await expect(other.list()).rejects.toSatisfy((e) => isWarrenError(e, 'ERR_CLOSED'));
  });
});
