import { describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { FakeClock } from '../../src/clock.js';
import { defineJob } from '../../src/define/define-job.js';
import { NOT_BEFORE_HEADER } from '../../src/broker/envelope.js';
import { workQueueName } from '../../src/names.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { slotRunId } from '../../src/util/uuid.js';
import { waitOnClock } from '../helpers/wait.js';

// The same scheduler on the in-memory store and broker of warren/testing, driven by a
// FakeClock: the tick's timing rules, checked instant by instant.
const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

describe('scheduler on MemoryStore + MemoryTransport + FakeClock', () => {
  function setup(jobs = [defineJob({ id: 'scan', schedule: { every: '1m' } })]) {
    const clock = new FakeClock(T0 + 10_000);
    const store = new MemoryStore();
    const transport = new MemoryTransport({ clock });
    const make = (instanceId: string): Scheduler =>
      createScheduler({ store, transport, clock, scope: 'mem', jobs, instanceId, leaseTtl: '30s' });
    return { clock, store, transport, make };
  }

  it('sleeps until the look-ahead before the next due slot, publishes each slot once, carrying its instant', async () => {
    const { clock, store, transport, make } = setup();
    const s = make('a');
    const published: string[] = [];
    s.on('slot:published', (run) => published.push(run.runId));
    await s.start();
    await waitOnClock(clock, () => s.isLeader(), 'leadership');
    // The tick is armed for the default look-ahead (250 ms) before the slot (or the safety tick before it), not polled.
    expect(clock.nextTimerAt()).toBeLessThanOrEqual(T0 + MIN - 250);
    await clock.advanceTo(T0 + MIN - 251);
    expect(published).toEqual([]);
    await clock.advanceTo(T0 + MIN - 250);
    await waitOnClock(clock, () => published.length === 1, 'slot 1');
    expect(published).toEqual([slotRunId('mem', 'scan', new Date(T0 + MIN))]);
    // Sent ahead, with its instant: a worker holds it until then.
    expect(transport.peek(workQueueName('mem', 'scan'))[0]!.headers[NOT_BEFORE_HEADER]).toBe(T0 + MIN);
    await clock.advanceTo(T0 + 3 * MIN);
    await waitOnClock(clock, () => published.length === 3, 'slots 2 and 3');
    expect(transport.size(workQueueName('mem', 'scan'))).toBe(3);
    expect((await store.getJob('mem', 'scan'))?.nextDueAt).toEqual(new Date(T0 + 4 * MIN));
    await s.close();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('hands leadership over at once on stop, and the new leader does not republish', async () => {
    const { clock, store, make } = setup();
    const a = make('a');
    const b = make('b');
    await a.start();
    await waitOnClock(clock, () => a.isLeader(), 'a leads');
    await b.start();
    await clock.flush();
    expect(b.isLeader()).toBe(false);
    await clock.advanceTo(T0 + MIN);
    await waitOnClock(clock, async () => (await store.listRuns('mem', { jobId: 'scan' })).length === 1, 'slot 1');
    await a.close();
    await waitOnClock(clock, () => b.isLeader(), 'b leads without waiting for the TTL');
    expect(clock.now()).toBe(T0 + MIN);
    await clock.advanceTo(T0 + 2 * MIN);
    await waitOnClock(clock, async () => (await store.listRuns('mem', { jobId: 'scan' })).length === 2, 'slot 2');
    await b.close();
  });

  it('wakes at once on a control action from another instance', async () => {
    const { clock, store, transport, make } = setup();
    const leader = make('leader');
    const admin = createScheduler({ store, clock, scope: 'mem', role: 'control-only', instanceId: 'admin' });
    await leader.start();
    await admin.start();
    await waitOnClock(clock, () => leader.isLeader(), 'leadership');
    const updated = await admin.update('scan', { every: '10s' });
    expect(updated.nextDueAt).toEqual(new Date(T0 + 20_000));
    await clock.advanceTo(T0 + 20_000);
    await waitOnClock(clock, async () => (await store.listRuns('mem', { jobId: 'scan' })).length === 1, 'the first slot on the new period');
    // A manual run from the broker-less admin instance is published by the leader's outbox.
    const run = await admin.runNow('scan');
    expect(run.publishedAt).toBeNull();
    await clock.advance(6_000);
    await waitOnClock(clock, async () => (await store.getRun(run.runId))?.publishedAt !== null, 'the outbox');
    expect(transport.size(workQueueName('mem', 'scan'))).toBe(2);
    await admin.close();
    await leader.close();
  });

  it('reseeds a broken queue-mode chain once', async () => {
    const chain = defineJob({ id: 'chain', schedule: { every: '1m' }, reschedule: 'queue' });
    const { clock, store, transport, make } = setup([chain]);
    const s = make('a');
    await s.start();
    await waitOnClock(clock, () => s.isLeader(), 'leadership');
    await clock.advanceTo(T0 + MIN);
    await waitOnClock(clock, async () => (await store.listRuns('mem', { jobId: 'chain' })).length === 1, 'the seed');
    // No worker consumes it: the chain is alive (a pending run), so nothing more is seeded.
    await clock.advanceTo(T0 + 5 * MIN);
    const runs = await store.listRuns('mem', { jobId: 'chain' });
    expect(runs.map((r) => [r.triggerSource, r.scheduledFor.getTime() - T0])).toEqual([['scheduler', MIN]]);
    expect(transport.size(workQueueName('mem', 'chain'))).toBe(1);
    await s.close();
  });
});
