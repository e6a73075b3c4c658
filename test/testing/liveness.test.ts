/**
 * Liveness on the fake clock (docs/reliability.md): a crashed process's liveness lock goes
 * with it, so the leader retries a dead worker's run, and a follower leads, long before the
 * leases would have run out. With `liveness: false` the leases alone decide, as before.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { isWarrenError } from '../../src/errors.js';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { createScheduler } from '../../src/scheduler/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { createWorker } from '../../src/worker/index.js';
import { createTestHarness, type TestHarness } from '../../src/testing/harness.js';

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** One harness per test, closed after it. */
async function started(options: Parameters<typeof createTestHarness>[0]): Promise<TestHarness> {
  harness = createTestHarness(options);
  await harness.start();
  return harness;
}

const job = defineJob({
  id: 'import',
  schedule: { every: '1h' },
  retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '1s', jitter: 0 } },
});

/** A harness whose first attempt of `import` works for ten minutes; a worker crash interrupts it. */
async function crashMidRun(options: { workerOptions?: Record<string, unknown>; schedulerOptions?: Record<string, unknown> }) {
  let h!: TestHarness;
  const handler = async (ctx: { attempt: number; signal: AbortSignal }) => {
    if (ctx.attempt === 1) await h.clock.sleep(10 * 60_000, ctx.signal);
  };
  h = await started({ jobs: [{ definition: job, handler }], workers: 2, start: '2025-01-06T00:00:00Z', ...options });
  await h.advance('1h');
  const [running] = await h.store.listRuns(h.scope, { jobId: 'import' });
  expect(running).toMatchObject({ status: 'running', attempt: 1 });
  const index = h.instances().workers.findIndex((w) => w.workerId === running!.workerId);
  expect(await h.crashWorker(index, { restart: false })).toEqual([running!.runId]);
  return { h, runId: running!.runId };
}

describe('liveness on the fake clock', () => {
  test('a crashed worker: its run is retried on another worker while its 60 s lease still runs', async () => {
    const { h, runId } = await crashMidRun({ workerOptions: { leaseTtl: '60s' } });
    const before = await h.store.getRun(runId);
    const leaseUntil = before!.leaseUntil!.getTime();
    const run = await h.waitFor(runId);
    expect(run).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(run.attempts[0]!.error).toMatch(/liveness/);
    expect(run.attempts[1]!.startedAt!.getTime()).toBeLessThan(leaseUntil);
    expect(run.attempts[1]!.workerId).not.toBe(run.attempts[0]!.workerId);
  });

  test('workers without liveness: the run waits for its lease', async () => {
    const { h, runId } = await crashMidRun({ workerOptions: { leaseTtl: '60s', liveness: false } });
    const leaseUntil = (await h.store.getRun(runId))!.leaseUntil!.getTime();
    const run = await h.waitFor(runId);
    expect(run).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(run.attempts[0]!.error).toMatch(/lease/);
    expect(run.attempts[1]!.startedAt!.getTime()).toBeGreaterThanOrEqual(leaseUntil);
  });

  test('a leader without liveness does not reap by lock: the lease rule, as before', async () => {
    const { h, runId } = await crashMidRun({ workerOptions: { leaseTtl: '60s' }, schedulerOptions: { liveness: false } });
    const leaseUntil = (await h.store.getRun(runId))!.leaseUntil!.getTime();
    const run = await h.waitFor(runId);
    expect(run.attempts[0]!.error).toMatch(/lease/);
    expect(run.attempts[1]!.startedAt!.getTime()).toBeGreaterThanOrEqual(leaseUntil);
  });

  test("a crashed leader: a follower leads after the liveness grace, long before the dead leader's lease expires, and publishes the next slot", async () => {
    const beat = defineJob({ id: 'beat', schedule: { every: '1m' } });
    const h = await started({ jobs: [beat], schedulers: 2, start: '2025-01-06T00:00:00Z' });
    await h.advance('2m');
    const before = h.leader();
    const lease = await h.store.getLeadership(h.scope, h.now());
    await h.crashScheduler(before, { restart: false });
    await h.waitFor(() => h.leader() >= 0, { timeout: '10s' });
    const now = h.now().getTime();
    expect(h.leader()).not.toBe(before);
    // The harness's lease is 5 minutes: it had not run out when the follower took over.
    expect(now).toBeLessThan(lease.expiresAt!.getTime());
    const taken = await h.store.getLeadership(h.scope, h.now());
    expect(taken.fence!.epoch).toBe(lease.fence!.epoch + 1);
    await h.advance('1m');
    const runs = (await h.store.listRuns(h.scope, { jobId: 'beat' })).reverse();
    expect(runs.map((r) => r.scheduledFor.toISOString().slice(11, 16))).toEqual(['00:01', '00:02', '00:03']);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
  });

  test('a crashed leader without liveness: no one leads until its lease expires', async () => {
    const beat = defineJob({ id: 'beat', schedule: { every: '1m' } });
    const h = await started({ jobs: [beat], schedulers: 2, start: '2025-01-06T00:00:00Z', schedulerOptions: { liveness: false } });
    await h.crashScheduler(h.leader(), { restart: false });
    await h.advance('4m');
    expect(h.leader()).toBe(-1);
    await h.advance('2m');
    expect(h.leader()).not.toBe(-1);
  });
});

describe('liveness options', () => {
  const store = new MemoryStore();
  const transport = new MemoryTransport();
  const fieldOf = (build: () => unknown): string | undefined => {
    try {
      build();
    } catch (error) {
      if (isWarrenError(error, 'ERR_INVALID_OPTION')) return error.field;
      throw error;
    }
    throw new Error('expected ERR_INVALID_OPTION');
  };

  test.each([
    ['liveness', { liveness: 'yes' }],
    ['livenessClient', { livenessClient: 'postgres://' }],
    ['livenessCheckInterval', { livenessCheckInterval: '10ms' }],
    ['livenessGrace', { livenessGrace: -1 }],
  ])('the scheduler refuses a bad `%s`', (field, bad) => {
    expect(fieldOf(() => createScheduler({ store, transport, scope: 'opts', ...(bad as object) }))).toBe(field);
  });

  test.each([
    ['liveness', { liveness: 1 }],
    ['livenessClient', { livenessClient: {} }],
  ])('the worker refuses a bad `%s`', (field, bad) => {
    expect(fieldOf(() => createWorker({ store, transport, scope: 'opts', ...(bad as object) }))).toBe(field);
  });
});
