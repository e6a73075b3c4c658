import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { JobChange, Store } from '../../src/store/port.js';
import { T0, at, jobConfig, newRun, runId } from '../contract/store-fixtures.js';
import { waitFor } from '../helpers/wait.js';

describe('MemoryStore', () => {
  it('is the memory kind', () => {
    expect(new MemoryStore().kind).toBe('memory');
  });

  it('copies what it is given: mutating the inputs afterwards changes nothing', async () => {
    const store = new MemoryStore();
    const config = jobConfig({ params: { list: [1, 2] } });
    const nextDueAt = at(60);
    await store.syncJob('s', 'a', config, { now: T0, nextDueAt });
    (config.params.list as number[]).push(3);
    config.retry.maxAttempts = 99;
    nextDueAt.setTime(0);
    const job = (await store.getJob('s', 'a'))!;
    expect(job.params).toEqual({ list: [1, 2] });
    expect(job.retry.maxAttempts).toBe(3);
    expect(job.nextDueAt).toEqual(at(60));

    const run = newRun(job, runId('s', 'r'), { params: { deep: { x: 1 } }, scheduledFor: new Date(T0) });
    await store.insertRuns('s', [run], T0);
    (run.params.deep as { x: number }).x = 2;
    run.scheduledFor.setTime(1);
    expect(await store.getRun(run.runId)).toMatchObject({ params: { deep: { x: 1 } }, scheduledFor: T0 });
  });

  it('copies what it returns: mutating a returned record changes nothing', async () => {
    const store = new MemoryStore();
    const job = await store.syncJob('s', 'a', jobConfig(), { now: T0, nextDueAt: at(60) });
    job.overridden.push('queue');
    job.params.greeting = 'mutated';
    job.nextDueAt!.setTime(0);
    job.enabled = false;
    expect(await store.getJob('s', 'a')).toMatchObject({ overridden: [], params: { greeting: 'hello' }, nextDueAt: at(60), enabled: true });

    const [inserted] = await store.insertRuns('s', [newRun(job, runId('s', 'r'))], T0);
    inserted!.status = 'succeeded';
    inserted!.attempts.push({ attempt: 1, workerId: null, startedAt: null, finishedAt: T0, status: 'failed', error: null, retryAt: null });
    const [claim] = await store.claimRuns([{ runId: inserted!.runId, attempt: 1 }], { now: T0, workerId: 'w', leaseMs: 1000 });
    expect(claim!.outcome).toBe('claimed');
    claim!.run!.leaseUntil!.setTime(0);
    claim!.job!.maxParallel = 50;
    expect(await store.getRun(inserted!.runId)).toMatchObject({ status: 'running', attempts: [], leaseUntil: at(1) });
    expect((await store.getJob('s', 'a'))!.maxParallel).toBe(1);

    await store.appendAudit('s', { jobId: 'a', action: 'create', details: { k: 1 }, at: T0 });
    const [audit] = await store.listAudit('s');
    audit!.details.k = 2;
    expect((await store.listAudit('s'))[0]!.details).toEqual({ k: 1 });
  });

  it('delivers job changes asynchronously, like NOTIFY, and a throwing listener harms no one', async () => {
    const store = new MemoryStore();
    const seen: JobChange[] = [];
    await store.onJobChange('s', () => {
      throw new Error('listener bug');
    });
    await store.onJobChange('s', (change) => seen.push(change));
    const sent = store.notifyJobChange('s', 'a');
    expect(seen).toEqual([]);
    await sent;
    await waitFor(() => seen.length === 1, 'the notification');
    expect(seen).toEqual([{ scope: 's', jobId: 'a' }]);
  });

  it('close drops the listeners, and the data stays readable', async () => {
    const store = new MemoryStore();
    const seen: JobChange[] = [];
    const other: JobChange[] = [];
    await store.onJobChange('s', (change) => seen.push(change));
    await store.syncJob('s', 'a', jobConfig(), { now: T0, nextDueAt: null });
    await store.close();
    const after = new MemoryStore();
    await after.onJobChange('s', (change) => other.push(change));
    await store.notifyJobChange('s', 'a');
    await after.notifyJobChange('s', 'a');
    await waitFor(() => other.length === 1, 'the other store notification');
    expect(seen).toEqual([]);
    expect(await store.getJob('s', 'a')).not.toBeNull();
  });

  // Memory-specific: one claimRuns batch is applied request by request, so a later request
  // sees the claims of earlier ones (the Postgres statement may not, so the contract leaves it open).
  it('applies a claim batch in order: the second run of a skip job in one batch is skipped', async () => {
    const store = new MemoryStore();
    const job = await store.syncJob('s', 'a', jobConfig({ overlap: 'skip', maxParallel: 1 }), { now: T0, nextDueAt: null });
    const runs = await store.insertRuns(
      's',
      [newRun(job, runId('s', '1'), { scheduledFor: at(1) }), newRun(job, runId('s', '2'), { scheduledFor: at(2) })],
      T0,
    );
    const results = await store.claimRuns(
      runs.map((r) => ({ runId: r.runId, attempt: 1 })),
      { now: at(3), workerId: 'w', leaseMs: 1000 },
    );
    expect(results.map((r) => r.outcome)).toEqual(['claimed', 'skipped']);
  });

  it('is deterministic: the same calls give the same results on two stores', async () => {
    async function script(store: Store): Promise<unknown[]> {
      const out: unknown[] = [];
      const job = await store.syncJob('s', 'a', jobConfig({ overlap: 'allowAll' }), { now: T0, nextDueAt: at(60) });
      out.push(job);
      out.push(await store.acquireLeadership('s', 'i1', 10_000, T0));
      const lead = await store.getLeadership('s', at(1));
      out.push(
        await store.claimSlots(
          's',
          lead.fence,
          [{ jobId: 'a', expectedNextDueAt: at(60), nextDueAt: at(120), runs: [newRun(job, runId('s', 'x'), { scheduledFor: at(60) })] }],
          at(2),
        ),
      );
      out.push(await store.claimRuns([{ runId: runId('s', 'x'), attempt: 1 }], { now: at(3), workerId: 'w', leaseMs: 5000 }));
      out.push(
        await store.completeRuns([
          { runId: runId('s', 'x'), attempt: 1, guard: { workerId: 'w' }, status: 'failed', error: 'e', finishedAt: at(4), retryAt: at(9) },
        ]),
      );
      await store.appendAudit('s', { jobId: 'a', action: 'run-now', at: at(5) });
      out.push(await store.listAudit('s'), await store.listRuns('s'), await store.listJobs('s'));
      return out;
    }
    expect(await script(new MemoryStore())).toEqual(await script(new MemoryStore()));
  });
});
