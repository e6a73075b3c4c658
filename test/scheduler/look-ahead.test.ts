/**
 * The look-ahead on the fake clock (in-memory store and broker): the leader claims a slot
 * `lookAhead` before it (run row under the fence) and publishes it at once with its instant in
 * the `x-warren-not-before` header; the worker holds it and starts it at its instant, not a
 * millisecond earlier. A pause or a schedule change in between records the claimed run
 * `cancelled` with its reason, and the held trigger is dropped at the instant, unrun; a leader
 * that could not publish leaves the run to the next leader's outbox, which publishes it once,
 * still ahead. The same on the real services: look-ahead-real.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NOT_BEFORE_HEADER } from '../../src/broker/envelope.js';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { FakeClock } from '../../src/clock.js';
import { defineJob } from '../../src/define/define-job.js';
import { workQueueName } from '../../src/names.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import type { TickSummary } from '../../src/scheduler/tick.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { RunRecord } from '../../src/store/port.js';
import { createWorker, type Worker } from '../../src/worker/index.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const SLOT = T0 + MIN;
const SCOPE = 'ahead';
const job = defineJob({ id: 'minutely', schedule: { every: '1m' } });
const queue = workQueueName(SCOPE, 'minutely');

async function until(clock: FakeClock, check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await clock.flush();
    if (await check()) return;
  }
  throw new Error(`never happened: ${what}`);
}

const open: Array<Scheduler | Worker> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function setup(options: { lookAhead?: string; instances?: number } = {}) {
  const clock = new FakeClock(T0);
  const store = new MemoryStore();
  const transport = new MemoryTransport({ clock });
  const ticks: TickSummary[] = [];
  const published: RunRecord[] = [];
  const schedulers = Array.from({ length: options.instances ?? 1 }, (_, i) => {
    const scheduler = createScheduler({
      store,
      transport,
      clock,
      scope: SCOPE,
      jobs: [job],
      instanceId: `s${i}`,
      outboxGrace: '0s',
      ...(options.lookAhead === undefined ? {} : { lookAhead: options.lookAhead }),
    });
    scheduler.on('tick', (summary) => ticks.push(summary));
    scheduler.on('slot:published', (run) => published.push(run));
    open.push(scheduler);
    return scheduler;
  });
  const slotRun = async () =>
    (await store.listRuns(SCOPE, { jobId: 'minutely', limit: 10 })).find((r) => r.scheduledFor.getTime() === SLOT);
  /** Handler starts: run id → the clock's instant on entry. */
  const starts = new Map<string, number>();
  const worker = async () => {
    const w = createWorker({ store, transport, clock, scope: SCOPE, workerId: 'w1' }).handle(job, ({ runId }) => {
      starts.set(runId, clock.now());
    });
    open.push(w);
    await w.start();
    return w;
  };
  return { clock, store, transport, ticks, published, schedulers, scheduler: schedulers[0]!, slotRun, starts, worker };
}

describe('look-ahead: slots claimed before their instant', () => {
  it('claims the slot lookAhead before it, publishes it at once with its instant, and the worker starts it at the instant, not a millisecond earlier', async () => {
    const t = setup({ lookAhead: '2s' });
    await t.scheduler.start();
    await until(t.clock, () => t.scheduler.isLeader(), 'leadership');

    await t.clock.advanceTo(SLOT - 2000);
    await until(t.clock, () => t.published.length === 1, 'the claimed-ahead slot published');
    const claimed = (await t.slotRun())!;
    expect(claimed).toMatchObject({ status: 'pending', triggerSource: 'scheduler', attempt: 1 });
    expect(claimed.createdAt).toEqual(new Date(SLOT - 2000));
    expect(claimed.publishedAt).toEqual(new Date(SLOT - 2000));
    expect(t.ticks.some((s) => s.ahead === 1)).toBe(true);
    expect((await t.store.getJob(SCOPE, 'minutely'))!.nextDueAt).toEqual(new Date(SLOT + MIN));
    const [message] = t.transport.peek(queue);
    expect(message).toMatchObject({ messageId: claimed.runId, headers: { [NOT_BEFORE_HEADER]: SLOT } });

    const w = await t.worker();
    await t.clock.advanceTo(SLOT - 1);
    await t.clock.flush();
    expect(w.stats().held).toBe(1);
    // Claimed just ahead of its instant (the time a claim takes) to start on it, but not started.
    expect(t.starts.size).toBe(0);
    expect((await t.slotRun())!.status).toBe('running');

    await t.clock.advanceTo(SLOT);
    await until(t.clock, async () => (await t.slotRun())!.status === 'succeeded', 'the run at its slot');
    expect([...t.starts]).toEqual([[claimed.runId, SLOT]]);
    expect((await t.slotRun())!.startedAt).toEqual(new Date(SLOT));
    expect(w.stats()).toMatchObject({ claimed: 1, early: 0 });
  });

  it("lookAhead: '0s' claims each slot when it is due", async () => {
    const t = setup({ lookAhead: '0s' });
    await t.scheduler.start();
    await until(t.clock, () => t.scheduler.isLeader(), 'leadership');
    await t.clock.advanceTo(SLOT - 1);
    await t.clock.flush();
    expect(await t.slotRun()).toBeUndefined();
    await t.clock.advanceTo(SLOT);
    await until(t.clock, () => t.published.length === 1, 'the publish at the slot');
    expect((await t.slotRun())!.createdAt).toEqual(new Date(SLOT));
  });

  it('a job paused between the claim and its slot: the run is recorded cancelled with the reason, and its held trigger is dropped unrun', async () => {
    const t = setup({ lookAhead: '2s' });
    await t.scheduler.start();
    await until(t.clock, () => t.scheduler.isLeader(), 'leadership');
    const w = await t.worker();
    const dropped: string[] = [];
    w.on('message:dropped', ({ runId, outcome }) => dropped.push(`${runId} ${outcome}`));
    await t.clock.advanceTo(SLOT - 2000);
    await until(t.clock, () => w.stats().held === 1, 'the claimed-ahead trigger held by the worker');
    const claimed = (await t.slotRun())!;

    await t.clock.advanceTo(SLOT - 1000);
    await t.scheduler.pause('minutely', { note: 'maintenance' });
    expect(await t.slotRun()).toMatchObject({
      status: 'cancelled',
      error: 'job paused before its slot',
      finishedAt: new Date(SLOT - 1000),
    });

    await t.clock.advanceTo(SLOT + 10_000);
    await until(t.clock, () => dropped.length === 1, 'the held trigger dropped at its instant');
    expect(dropped).toEqual([`${claimed.runId} duplicate`]);
    expect(t.starts.size).toBe(0);
    expect(t.transport.size(queue)).toBe(0);
    expect(await t.slotRun()).toMatchObject({ status: 'cancelled', error: 'job paused before its slot', startedAt: null });
  });

  it('a schedule changed between the claim and its slot: the old slot is recorded cancelled, the new schedule runs', async () => {
    const t = setup({ lookAhead: '2s' });
    await t.scheduler.start();
    await until(t.clock, () => t.scheduler.isLeader(), 'leadership');
    await t.clock.advanceTo(SLOT - 2000);
    await until(t.clock, async () => (await t.slotRun()) !== undefined, 'the claimed-ahead run row');

    const w = await t.worker();
    await t.clock.advanceTo(SLOT - 1000);
    await t.scheduler.update('minutely', { schedule: { every: '7m' } });
    expect(await t.slotRun()).toMatchObject({ status: 'cancelled', error: 'schedule changed before its slot' });

    await t.clock.advanceTo(T0 + 7 * MIN);
    await until(t.clock, () => t.starts.size === 1, 'the first slot of the new schedule run');
    expect(t.published.map((r) => r.scheduledFor)).toEqual([new Date(SLOT), new Date(T0 + 7 * MIN)]);
    const [newRun] = t.published.slice(1);
    expect([...t.starts]).toEqual([[newRun!.runId, T0 + 7 * MIN]]);
    expect(await t.slotRun()).toMatchObject({ status: 'cancelled', startedAt: null });
    expect(w.stats()).toMatchObject({ claimed: 1, duplicates: 1 });
  });

  it('a schedule changed between the claim and its slot, whose new first slot is that same instant: the claimed slot stays and runs once', async () => {
    const t = setup({ lookAhead: '2s' });
    await t.scheduler.start();
    await until(t.clock, () => t.scheduler.isLeader(), 'leadership');
    await t.worker();
    await t.clock.advanceTo(SLOT - 2000);
    await until(t.clock, async () => (await t.slotRun()) !== undefined, 'the claimed-ahead run row');

    await t.clock.advanceTo(SLOT - 1000);
    const updated = await t.scheduler.update('minutely', { schedule: { every: '30s' } });
    expect(updated.nextDueAt).toEqual(new Date(SLOT));
    expect(await t.slotRun()).toMatchObject({ status: 'pending', error: null });

    await t.clock.advanceTo(SLOT + 30_000);
    await until(t.clock, () => t.starts.size === 2, 'the slot and the next one on the new schedule');
    const run = (await t.slotRun())!;
    expect(run.status).toBe('succeeded');
    expect([...t.starts.values()]).toEqual([SLOT, SLOT + 30_000]);
  });

  it('a leader that claimed a slot ahead but could not publish it (the broker away): the next leader publishes it once, still ahead, and it runs at its instant', async () => {
    const t = setup({ lookAhead: '2s', instances: 2 });
    const [first, second] = t.schedulers as [Scheduler, Scheduler];
    await first.start();
    await until(t.clock, () => first.isLeader(), 'the first leader');
    await second.start();
    t.transport.simulateDisconnect();
    await t.clock.advanceTo(SLOT - 2000);
    await until(t.clock, async () => (await t.slotRun()) !== undefined, 'the claimed-ahead run row');
    const claimed = (await t.slotRun())!;
    expect(claimed).toMatchObject({ status: 'pending', publishedAt: null });

    await t.clock.advanceTo(SLOT - 1500);
    await first.close();
    t.transport.reconnect();
    await until(t.clock, () => second.isLeader(), 'the second leader');
    await until(t.clock, () => t.published.length === 1, 'the publish by the second leader');
    const publishedAt = (await t.slotRun())!.publishedAt!.getTime();
    expect(publishedAt).toBeLessThan(SLOT);
    expect(t.transport.peek(queue).map((m) => [m.messageId, m.headers[NOT_BEFORE_HEADER]])).toEqual([[claimed.runId, SLOT]]);

    await t.worker();
    await t.clock.advanceTo(SLOT + 10_000);
    await until(t.clock, async () => (await t.slotRun())!.status === 'succeeded', 'the run');
    expect(t.published.map((r) => r.runId)).toEqual([claimed.runId]);
    expect([...t.starts]).toEqual([[claimed.runId, SLOT]]);
  });
});
