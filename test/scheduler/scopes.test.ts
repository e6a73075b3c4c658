import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/broker/envelope.js';
import { defineJob } from '../../src/define/define-job.js';
import { isWarrenError } from '../../src/errors.js';
import { workQueueName } from '../../src/names.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

const scan = defineJob({ id: 'buy-scanner', schedule: { every: '1s' } });
const scout = defineJob({ id: 'scout', schedule: { every: '1h' } });

describe('scopes: mock and real on one database and one broker', () => {
  let fx: SchedulerFixture;
  let mock: Scheduler;
  let real: Scheduler;
  const mockScope = uniqueToken('mock');
  const realScope = uniqueToken('real');

  beforeAll(async () => {
    fx = await schedulerFixture('scopes');
    fx.alsoScope(mockScope);
    fx.alsoScope(realScope);
    const a = await fx.pool(`${mockScope}-sched`);
    const b = await fx.pool(`${realScope}-sched`);
    mock = createScheduler({
      pool: a.pool,
      schema: fx.schema,
      scope: mockScope,
      amqpUrl: AMQP_URL,
      jobs: [scan],
      instanceId: 'mock-1',
      leaseTtl: '3s',
    });
    real = createScheduler({
      pool: b.pool,
      schema: fx.schema,
      scope: realScope,
      amqpUrl: AMQP_URL,
      jobs: [scan, scout],
      instanceId: 'real-1',
      leaseTtl: '3s',
    });
    mock.on('error', () => {});
    real.on('error', () => {});
    await Promise.all([mock.start(), real.start()]);
  });

  afterAll(async () => {
    await Promise.all([mock?.close(), real?.close()]);
    await fx.teardown();
  });

  it('each scope has its own leader, jobs, runs and queues', async () => {
    // Two leaders at once: leadership is per scope.
    await waitFor(() => mock.isLeader() && real.isLeader(), 'both scopes to have a leader');
    expect((await fx.store.getLeadership(mockScope, new Date())).holder).toBe('mock-1');
    expect((await fx.store.getLeadership(realScope, new Date())).holder).toBe('real-1');

    await waitFor(
      async () => (await fx.runsOf('buy-scanner', mockScope)).length >= 3 && (await fx.runsOf('buy-scanner', realScope)).length >= 3,
      'runs in both scopes',
    );

    expect((await mock.list()).map((j) => j.id)).toEqual(['buy-scanner']);
    expect((await real.list()).map((j) => j.id).sort()).toEqual(['buy-scanner', 'scout']);
    await expect(mock.get('scout')).rejects.toSatisfy((e) => isWarrenError(e, 'ERR_JOB_NOT_FOUND'));

    // A control action in one scope leaves the same job id in the other alone.
    await mock.pause('buy-scanner', { note: 'mock only' });
    expect((await real.get('buy-scanner')).enabled).toBe(true);
    expect((await mock.audit()).every((a) => a.scope === mockScope)).toBe(true);
    expect(await real.audit()).toEqual([]);

    const mockRuns = await fx.runsOf('buy-scanner', mockScope);
    const realRuns = await fx.runsOf('buy-scanner', realScope);
    expect(mockRuns.every((r) => r.scope === mockScope)).toBe(true);
    expect(realRuns.every((r) => r.scope === realScope)).toBe(true);
    const realIds = new Set(realRuns.map((r) => r.runId));
    expect(mockRuns.filter((r) => realIds.has(r.runId))).toEqual([]);

    // Each scope's triggers went to its own `{scope}.jobs.{queue}` only.
    for (const [scope, runs] of [
      [mockScope, mockRuns],
      [realScope, realRuns],
    ] as const) {
      const messages = await fx.admin.drain(workQueueName(scope, 'buy-scanner'));
      expect(messages.length).toBeGreaterThanOrEqual(3);
      const ids = new Set(runs.map((r) => r.runId));
      for (const m of messages) {
        const decoded = decodeMessage(m.content);
        expect(decoded.ok && decoded.message.scope).toBe(scope);
        // The message belongs to a run row of this scope (or one inserted after the listing).
        if (decoded.ok && !ids.has(decoded.message.run_id)) expect((await fx.store.getRun(decoded.message.run_id))?.scope).toBe(scope);
      }
    }
  });
});
