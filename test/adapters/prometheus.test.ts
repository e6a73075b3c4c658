import * as promClient from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { isWarrenError } from '../../src/errors.js';
import { createPrometheusMetrics, type PrometheusMetrics } from '../../src/prometheus/index.js';
import { deadLetterReasonKind, scopeOfQueue } from '../../src/prometheus/reason-kind.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import type { RunRecord } from '../../src/store/port.js';
import { SafeEmitter } from '../../src/util/events.js';
import { deadLetterReason } from '../../src/worker/dead-letter.js';
import type { RunInfo, WorkerEvents } from '../../src/worker/events.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import type { SchedulerEvents } from '../../src/scheduler/index.js';
import { cleanupScope } from '../helpers/amqp.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { waitFor } from '../helpers/wait.js';

type Labels = Record<string, string | number>;

/** The value of the one series of `name` whose labels include `labels` (undefined when absent). */
async function valueOf(registry: promClient.Registry, name: string, labels: Labels, metricName = name): Promise<number | undefined> {
  const metrics = await registry.getMetricsAsJSON();
  const metric = metrics.find((m) => m.name === name);
  const values = (metric?.values ?? []) as Array<{ labels: Labels; value: number; metricName?: string }>;
  const hits = values.filter(
    (v) => (v.metricName ?? name) === metricName && Object.entries(labels).every(([k, want]) => v.labels[k] === want),
  );
  if (hits.length > 1) throw new Error(`${hits.length} series of ${metricName} match ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

function expectInvalid(fn: () => unknown, code: string, field: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isWarrenError(caught, code as never), String(caught)).toBe(true);
  expect((caught as { field?: string }).field).toBe(field);
}

describe('createPrometheusMetrics options and registration', () => {
  it('rejects bad options with ERR_INVALID_OPTION naming the field', () => {
    expectInvalid(() => createPrometheusMetrics({} as never), 'ERR_INVALID_OPTION', 'client');
    expectInvalid(() => createPrometheusMetrics({ client: {} as never }), 'ERR_INVALID_OPTION', 'client');
    const registry = new promClient.Registry();
    expectInvalid(() => createPrometheusMetrics({ client: promClient, registry, prefix: '1x' }), 'ERR_INVALID_OPTION', 'prefix');
    expectInvalid(() => createPrometheusMetrics({ client: promClient, registry, buckets: [1, 0.5] }), 'ERR_INVALID_OPTION', 'buckets');
    expectInvalid(() => createPrometheusMetrics({ client: promClient, registry, buckets: [] }), 'ERR_INVALID_OPTION', 'buckets');
    expectInvalid(() => createPrometheusMetrics({ client: promClient, registry: {} as never }), 'ERR_INVALID_OPTION', 'registry');
    expectInvalid(() => createPrometheusMetrics({ client: promClient, registry, colour: 'red' } as never), 'ERR_INVALID_OPTION', 'colour');
    const metrics = createPrometheusMetrics({ client: promClient, registry });
    expectInvalid(() => metrics.observeWorker({} as never), 'ERR_INVALID_ARGUMENT', 'worker');
    expectInvalid(() => metrics.observeScheduler({ on() {}, off() {} } as never), 'ERR_INVALID_ARGUMENT', 'scheduler');
  });

  it('registers the eight metrics under the prefix, and a second call on the same registry reuses them', async () => {
    const registry = new promClient.Registry();
    createPrometheusMetrics({ client: promClient, registry, prefix: 'app_jobs_' });
    expect(() => createPrometheusMetrics({ client: promClient, registry, prefix: 'app_jobs_' })).not.toThrow();
    const names = (await registry.getMetricsAsJSON()).map((m) => `${m.name}:${m.type}`).sort();
    expect(names).toEqual([
      'app_jobs_dead_letters_total:counter',
      'app_jobs_job_duration_seconds:histogram',
      'app_jobs_leader:gauge',
      'app_jobs_messages_dropped_total:counter',
      'app_jobs_retries_total:counter',
      'app_jobs_runs_reaped_total:counter',
      'app_jobs_runs_total:counter',
      'app_jobs_slots_published_total:counter',
    ]);
  });

  it('uses the default registry without a registry option', () => {
    const prefix = `${uniqueToken('promdefault')}_`;
    try {
      createPrometheusMetrics({ client: promClient, prefix });
      expect(promClient.register.getSingleMetric(`${prefix}runs_total`)).toBeDefined();
      expect(() => createPrometheusMetrics({ client: promClient, prefix })).not.toThrow();
    } finally {
      for (const suffix of [
        'job_duration_seconds',
        'runs_total',
        'retries_total',
        'dead_letters_total',
        'messages_dropped_total',
        'leader',
        'slots_published_total',
        'runs_reaped_total',
      ]) {
        promClient.register.removeSingleMetric(`${prefix}${suffix}`);
      }
    }
  });

  it('refuses a same-named metric of another kind or with other labels', () => {
    const gaugeInPlace = new promClient.Registry();
    new promClient.Gauge({ name: 'warren_runs_total', help: 'not ours', labelNames: ['scope'], registers: [gaugeInPlace] });
    expectInvalid(() => createPrometheusMetrics({ client: promClient, registry: gaugeInPlace }), 'ERR_INVALID_OPTION', 'registry');
    const otherLabels = new promClient.Registry();
    new promClient.Counter({ name: 'warren_runs_total', help: 'not ours', labelNames: ['scope'], registers: [otherLabels] });
    expectInvalid(() => createPrometheusMetrics({ client: promClient, registry: otherLabels }), 'ERR_INVALID_OPTION', 'registry');
  });

  it('maps every dead-letter reason the worker writes to a bounded kind', () => {
    expect(deadLetterReasonKind(deadLetterReason.malformed('bad json'))).toBe('malformed');
    expect(deadLetterReasonKind(deadLetterReason.wrongScope('a', 'b'))).toBe('wrong_scope');
    expect(deadLetterReasonKind(deadLetterReason.unknownJob('x', 'test.jobs.q'))).toBe('unknown_job');
    expect(deadLetterReasonKind(deadLetterReason.unknownRun('0000'))).toBe('unknown_run');
    expect(deadLetterReasonKind(deadLetterReason.nonRetryable('nope'))).toBe('non_retryable');
    expect(deadLetterReasonKind(deadLetterReason.exhausted(3, 'boom'))).toBe('exhausted');
    expect(deadLetterReasonKind(deadLetterReason.timedOut(2, 'slow'))).toBe('timed_out');
    expect(deadLetterReasonKind('something new')).toBe('other');
    expect(scopeOfQueue('real.jobs.buy-scanner', 'fallback')).toBe('real');
    expect(scopeOfQueue('odd-queue', 'fallback')).toBe('fallback');
  });

  it('counts dropped messages and reaped runs from the events (synthetic emitters)', async () => {
    const registry = new promClient.Registry();
    const metrics = createPrometheusMetrics({ client: promClient, registry });
    const worker = Object.assign(new SafeEmitter<WorkerEvents>(), { scope: 'synth' });
    let leading = false;
    const scheduler = Object.assign(new SafeEmitter<SchedulerEvents>(), { scope: 'synth', instanceId: 'node-a', isLeader: () => leading });
    const stopWorker = metrics.observeWorker(worker);
    expect(metrics.observeWorker(worker)).toBe(stopWorker); // a second observe does not double count
    const stopScheduler = metrics.observeScheduler(scheduler);
    expect(await valueOf(registry, 'warren_leader', { scope: 'synth', instance: 'node-a' })).toBe(0);
    leading = true;
    scheduler.emit('leader:gained', { scope: 'synth', epoch: 1 } as never);
    expect(await valueOf(registry, 'warren_leader', { scope: 'synth', instance: 'node-a' })).toBe(1);
    worker.emit('message:dropped', { queue: 'synth.jobs.q', runId: 'r1', outcome: 'duplicate' });
    worker.emit('message:dropped', { queue: 'synth.jobs.q', runId: 'r2', outcome: 'duplicate' });
    worker.emit('message:dropped', { queue: 'other.jobs.q', runId: 'r3', outcome: 'expired' });
    const run = { runId: 'r9', scope: 'synth', jobId: 'nightly' } as RunRecord;
    scheduler.emit('run:reaped', { run, outcome: 'retry' });
    scheduler.emit('slot:published', run);
    const info: RunInfo = {
      runId: 'r5',
      jobId: 'j',
      scope: 'synth',
      queue: 'synth.jobs.j',
      attempt: 1,
      maxAttempts: 1,
      triggerSource: 'manual',
      scheduledFor: new Date(),
    };
    worker.emit('run:start', info);
    worker.emit('run:failure', info, new Error('x'));
    worker.emit('run:dead', info, { error: new Error('x'), status: 'timed_out', reason: deadLetterReason.timedOut(1, 'x') });
    expect(await valueOf(registry, 'warren_messages_dropped_total', { scope: 'synth', outcome: 'duplicate' })).toBe(2);
    expect(await valueOf(registry, 'warren_messages_dropped_total', { scope: 'other', outcome: 'expired' })).toBe(1);
    expect(await valueOf(registry, 'warren_runs_reaped_total', { scope: 'synth', job_id: 'nightly' })).toBe(1);
    expect(await valueOf(registry, 'warren_slots_published_total', { scope: 'synth', job_id: 'nightly' })).toBe(1);
    expect(await valueOf(registry, 'warren_runs_total', { job_id: 'j', status: 'timed_out', trigger_source: 'manual' })).toBe(1);
    expect(
      await valueOf(registry, 'warren_job_duration_seconds', { job_id: 'j', status: 'timed_out' }, 'warren_job_duration_seconds_count'),
    ).toBe(1);
    stopWorker();
    stopScheduler();
    expect(worker.listenerCount('run:start') + worker.listenerCount('message:dropped')).toBe(0);
    expect(scheduler.listenerCount('leader:gained') + scheduler.listenerCount('run:reaped')).toBe(0);
    expect(await valueOf(registry, 'warren_leader', { scope: 'synth', instance: 'node-a' })).toBeUndefined();
  });
});

describe('warren/prometheus over a real scheduler and worker (PostgreSQL + RabbitMQ)', () => {
  const ok = defineJob({ id: 'ok', description: 'succeeds' });
  const boom = defineJob({ id: 'boom', retry: { maxAttempts: 2, backoff: { type: 'fixed', delay: '1s', jitter: 0 } } });
  // Scheduled, so the leader publishes slots (run-now publishes through the control API, not the tick).
  const ticking = defineJob({ id: 'ticking', schedule: { every: '2s' } });

  let db: TestDatabase;
  let scope: string;
  let store: PgStore;
  let scheduler: Scheduler;
  let worker: Worker;
  let registry: promClient.Registry;
  let metrics: PrometheusMetrics;
  let stopWorker: () => void;
  let stopScheduler: () => void;
  const okRuns: string[] = [];

  const finalStatus = async (runId: string) => (await store.getRun(runId))?.status;

  beforeAll(async () => {
    db = await createTestDatabase('prometheus', 6);
    await migrate(db.pool, { schema: db.schema });
    scope = uniqueToken('prometheus').replace(/_/g, '-');
    store = new PgStore({ pool: db.pool, schema: db.schema });
    scheduler = createScheduler({
      pool: db.pool,
      schema: db.schema,
      scope,
      amqpUrl: AMQP_URL,
      jobs: [ok, boom, ticking],
      instanceId: 'prom-scheduler',
      safetyTick: '1s',
      outboxGrace: '1s',
    });
    scheduler.on('error', () => {});
    worker = createWorker({
      pool: db.pool,
      schema: db.schema,
      amqpUrl: AMQP_URL,
      scope,
      jobs: [
        { definition: ok, handler: (ctx) => void okRuns.push(ctx.runId) },
        {
          definition: boom,
          handler: () => {
            throw new Error('boom: the upstream said no');
          },
        },
        { definition: ticking, handler: () => {} },
      ],
    });
    worker.on('error', () => {});
    registry = new promClient.Registry();
    metrics = createPrometheusMetrics({ client: promClient, registry });
    stopWorker = metrics.observeWorker(worker);
    stopScheduler = metrics.observeScheduler(scheduler);
    await scheduler.start();
    await worker.start();
    await worker.ready();
  });

  afterAll(async () => {
    await scheduler?.close().catch(() => {});
    await worker?.close().catch(() => {});
    await store?.close().catch(() => {});
    if (scope) await cleanupScope(scope).catch(() => {});
    await db?.drop();
  });

  it('the leader gauge is 1 on the leading instance', async () => {
    await waitFor(() => scheduler.isLeader(), 'leadership');
    expect(await valueOf(registry, 'warren_leader', { scope, instance: 'prom-scheduler' })).toBe(1);
    expect(await registry.metrics()).toContain(`warren_leader{scope="${scope}",instance="prom-scheduler"} 1`);
  });

  it('a second createPrometheusMetrics on the same registry does not throw and shares the series', async () => {
    const again = createPrometheusMetrics({ client: promClient, registry });
    expect(again).toBeDefined();
    expect((await registry.getMetricsAsJSON()).filter((m) => m.name === 'warren_runs_total')).toHaveLength(1);
  });

  it('a succeeding run and a run that fails to dead are counted with bounded labels', async () => {
    const good = await scheduler.runNow('ok');
    const bad = await scheduler.runNow('boom');
    await waitFor(async () => (await finalStatus(good.runId)) === 'succeeded', 'ok succeeded');
    await waitFor(async () => (await finalStatus(bad.runId)) === 'dead', 'boom dead');
    const queue = `${scope}.jobs.boom`;
    // The dead letter is published after the run's row is final.
    await waitFor(async () => (await valueOf(registry, 'warren_dead_letters_total', { scope, queue })) === 1, 'the dead letter counted');

    expect(await valueOf(registry, 'warren_runs_total', { scope, job_id: 'ok', status: 'succeeded', trigger_source: 'manual' })).toBe(1);
    expect(await valueOf(registry, 'warren_runs_total', { scope, job_id: 'boom', status: 'retry', trigger_source: 'manual' })).toBe(1);
    expect(await valueOf(registry, 'warren_runs_total', { scope, job_id: 'boom', status: 'dead', trigger_source: 'manual' })).toBe(1);
    expect(await valueOf(registry, 'warren_runs_total', { scope, job_id: 'boom', status: 'succeeded' })).toBeUndefined();
    expect(await valueOf(registry, 'warren_retries_total', { scope, job_id: 'boom' })).toBe(1);
    expect(await valueOf(registry, 'warren_retries_total', { scope, job_id: 'ok' })).toBeUndefined();
    expect(await valueOf(registry, 'warren_dead_letters_total', { scope, queue, reason_kind: 'exhausted' })).toBe(1);

    const count = (job: string, status: string) =>
      valueOf(registry, 'warren_job_duration_seconds', { scope, job_id: job, status }, 'warren_job_duration_seconds_count');
    const sum = (job: string, status: string) =>
      valueOf(registry, 'warren_job_duration_seconds', { scope, job_id: job, status }, 'warren_job_duration_seconds_sum');
    expect(await count('ok', 'succeeded')).toBe(1);
    expect(await count('boom', 'retry')).toBe(1);
    expect(await count('boom', 'dead')).toBe(1);
    expect(await sum('ok', 'succeeded')).toBeGreaterThanOrEqual(0);
    // The +Inf bucket holds every observation.
    expect(
      await valueOf(
        registry,
        'warren_job_duration_seconds',
        { scope, job_id: 'ok', status: 'succeeded', le: '+Inf' },
        'warren_job_duration_seconds_bucket',
      ),
    ).toBe(1);

    // No run ids or error text anywhere in the exposition.
    const text = await registry.metrics();
    expect(text).not.toContain(good.runId);
    expect(text).not.toContain(bad.runId);
    expect(text).not.toContain('upstream said no');
    expect(text).toContain(`warren_dead_letters_total{scope="${scope}",queue="${queue}",reason_kind="exhausted"} 1`);
  });

  it('counts the slots the leader publishes', async () => {
    await waitFor(
      async () => ((await valueOf(registry, 'warren_slots_published_total', { scope, job_id: 'ticking' })) ?? 0) >= 1,
      'a published slot of ticking',
    );
    await waitFor(
      async () =>
        ((await valueOf(registry, 'warren_runs_total', { scope, job_id: 'ticking', status: 'succeeded', trigger_source: 'scheduler' })) ??
          0) >= 1,
      'a scheduled run of ticking',
    );
  });

  it('after unsubscribing, runs are no longer counted', async () => {
    stopWorker();
    const before = okRuns.length;
    const again = await scheduler.runNow('ok');
    await waitFor(async () => (await finalStatus(again.runId)) === 'succeeded', 'second ok succeeded');
    expect(okRuns.length).toBe(before + 1);
    expect(await valueOf(registry, 'warren_runs_total', { scope, job_id: 'ok', status: 'succeeded', trigger_source: 'manual' })).toBe(1);
    expect(
      await valueOf(
        registry,
        'warren_job_duration_seconds',
        { scope, job_id: 'ok', status: 'succeeded' },
        'warren_job_duration_seconds_count',
      ),
    ).toBe(1);
  });

  it('the leader gauge drops to 0 when the leader stops, and its series goes with the scheduler unsubscribe', async () => {
    await scheduler.close();
    expect(await valueOf(registry, 'warren_leader', { scope, instance: 'prom-scheduler' })).toBe(0);
    stopScheduler();
    expect(await valueOf(registry, 'warren_leader', { scope, instance: 'prom-scheduler' })).toBeUndefined();
  });
});
