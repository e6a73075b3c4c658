import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import type { RunRecord } from '../../src/store/port.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type ProxiedScheduler, type SchedulerFixture } from './setup.js';

const TTL_MS = 2000;
const DURATION_MS = 50_000;
const beat = defineJob({ id: 'beat', schedule: { every: '1s' } });

describe('leader churn does not duplicate or lose slots', () => {
  let fx: SchedulerFixture;
  let worker: Worker;
  const instances: ProxiedScheduler[] = [];
  const executed = new Map<string, number>();

  beforeAll(async () => {
    fx = await schedulerFixture('churn');
    instances.push(...(await fx.proxiedSchedulers(3, { jobs: [beat], leaseTtl: TTL_MS / 1000, safetyTick: '500ms', outboxGrace: '1s' })));
    const { pool } = await fx.pool(`${fx.scope}-worker`);
    worker = createWorker({
      pool,
      schema: fx.schema,
      amqpUrl: AMQP_URL,
      scope: fx.scope,
      jobs: [{ definition: beat, handler: (ctx) => void executed.set(ctx.runId, (executed.get(ctx.runId) ?? 0) + 1) }],
    });
  });

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.scheduler.close()));
    await worker?.close();
    await fx.teardown();
  });

  it(
    'an every-1s job over ~50 s with the leader killed three times: one row per slot, each run once or recorded with its reason',
    { timeout: 120_000 },
    async () => {
      await worker.start();
      await Promise.all(instances.map((i) => i.scheduler.start()));
      const startedAt = Date.now();
      const leader = () => instances.find((i) => i.scheduler.isLeader());
      const rows = async () => (await fx.runsOf('beat')).length;

      for (let kill = 1; kill <= 3; kill++) {
        await waitFor(async () => (await rows()) >= kill * 12, `${kill * 12} slots`, { timeoutMs: 30_000 });
        const old = await waitFor(leader, 'a leader');
        old.proxy.pause();
        expect(await fx.killBackends(old.name)).toBeGreaterThan(0);
        old.proxy.cutAll();
        await waitFor(() => instances.find((i) => i !== old && i.scheduler.isLeader()), `a new leader after kill ${kill}`, {
          timeoutMs: TTL_MS + 2000,
        });
        old.proxy.resume();
      }
      await waitFor(() => Date.now() - startedAt >= DURATION_MS, 'the end of the churn window', {
        timeoutMs: DURATION_MS,
        intervalMs: 250,
      });
      const end = Date.now() - 1000;

      // Every run of the range has settled (the outbox publishes what a killed leader left).
      let runs: RunRecord[] = [];
      await waitFor(
        async () => {
          runs = (await fx.runsOf('beat')).filter((r) => r.scheduledFor.getTime() <= end);
          return runs.every((r) => r.status !== 'pending' && r.status !== 'running');
        },
        'every run of the range to settle',
        { timeoutMs: 20_000 },
      );

      // One row per slot: consecutive seconds from the first slot, no gap, no duplicate.
      const first = runs[0]!.scheduledFor.getTime();
      const last = runs[runs.length - 1]!.scheduledFor.getTime();
      expect(last - first).toBeGreaterThanOrEqual(40_000);
      expect(runs.map((r) => r.scheduledFor.getTime())).toEqual(
        Array.from({ length: (last - first) / 1000 + 1 }, (_, i) => first + i * 1000),
      );

      const byStatus: Record<string, number> = {};
      for (const run of runs) {
        byStatus[run.status] = (byStatus[run.status] ?? 0) + 1;
        if (run.status === 'succeeded') {
          expect(executed.get(run.runId), `run ${run.runId} executions`).toBe(1);
          expect(run.attempt).toBe(1);
        } else {
          // Not run: the status is the reason (missed, skipped, expired), never a silent gap.
          expect(['missed', 'skipped', 'expired', 'cancelled']).toContain(run.status);
          expect(executed.has(run.runId)).toBe(false);
          if (run.status === 'missed' || run.status === 'skipped') expect(run.error).toBeTruthy();
        }
      }
      expect(byStatus.succeeded ?? 0).toBeGreaterThan(runs.length / 2);
      console.info(`churn: ${runs.length} slots`, byStatus);
    },
  );
});
