/**
 * The look-ahead on the fake clock (in-memory store and broker): the leader claims a slot
 * `lookAhead` before it (run row under the fence) and publishes it at its instant; a pause or
 * a schedule change in between records the claimed run `cancelled` with its reason and
 * nothing is published; a leader that stops in between leaves it to the next leader, which
 * publishes it once, at its instant. The same on the real services: look-ahead-real.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { FakeClock } from '../../src/clock.js';
import { defineJob } from '../../src/define/define-job.js';
import { workQueueName } from '../../src/names.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import type { TickSummary } from '../../src/scheduler/tick.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { RunRecord } from '../../src/store/port.js';

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

const open: Scheduler[] = [];
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
  return { clock, store, transport, ticks, published, schedulers, scheduler: schedulers[0]!, slotRun };
}

describe('look-ahead: slots claimed before their instant', () => {
  it('claims the slot lookAhead before it and publishes it at its instant, not a millisecond earlier', async () => {
    const t = setup({ lookAhead: '2s' });
    await t.scheduler.start();
    await until(t.clock, () => t.scheduler.isLeader(), 'leadership');

    await t.clock.advanceTo(SLOT - 2000);
    await until(t.clock, async () => (await t.slotRun()) !== undefined, 'the claimed-ahead run row');
    const claimed = (await t.slotRun())!;
    expect(claimed).toMatchObject({ status: 'pending', triggerSource: 'scheduler', publishedAt: null, attempt: 1 });
    expect(claimed.createdAt).toEqual(new Date(SLOT - 2000));
    expect(t.ticks.some((s) => s.ahead === 1)).toBe(true);
    expect((await t.store.getJob(SCOPE, 'minutely'))!.nextDueAt).toEqual(new Date(SLOT + MIN));

    await t.clock.advanceTo(SLOT - 1);
    await t.clock.flush();
    expect(t.transport.peek(queue)).toEqual([]);
    expect(t.published).toEqual([]);

    await t.clock.advanceTo(SLOT);
    await until(t.clock, () => t.published.length === 1, 'the publish at the slot');
    expect(t.transport.peek(queue).map((m) => m.messageId)).toEqual([claimed.runId]);
    expect((await t.slotRun())!.publishedAt).toEqual(new Date(SLOT));
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

  it('a job paused between the claim and its slot: the run is recorded cancelled with the reason and never published', async () => {
    const t = setup({ lookAhead: '2s' });
    await t.scheduler.start();
    await until(t.clock, () => t.scheduler.isLeader(), 'leadership');
    await t.clock.advanceTo(SLOT - 2000);
    await until(t.clock, async () => (await t.slotRun()) !== undefined, 'the claimed-ahead run row');

    await t.clock.advanceTo(SLOT - 1000);
    await t.scheduler.pause('minutely', { note: 'maintenance' });
    expect(await t.slotRun()).toMatchObject({
      status: 'cancelled',
      error: 'job paused before its slot',
      finishedAt: new Date(SLOT - 1000),
    });

    await t.clock.advanceTo(SLOT + 10_000);
    await t.clock.flush();
    expect(t.transport.peek(queue)).toEqual([]);
    expect(t.published).toEqual([]);
    expect(await t.slotRun()).toMatchObject({ status: 'cancelled', publishedAt: null });
  });

  it('a schedule changed between the claim and its slot: the old slot is recorded cancelled, the new schedule runs', async () => {
    const t = setup({ lookAhead: '2s' });
    await t.scheduler.start();
    await until(t.clock, () => t.scheduler.isLeader(), 'leadership');
    await t.clock.advanceTo(SLOT - 2000);
    await until(t.clock, async () => (await t.slotRun()) !== undefined, 'the claimed-ahead run row');

    await t.clock.advanceTo(SLOT - 1000);
    await t.scheduler.update('minutely', { schedule: { every: '7m' } });
    expect(await t.slotRun()).toMatchObject({ status: 'cancelled', error: 'schedule changed before its slot' });

    await t.clock.advanceTo(T0 + 7 * MIN);
    await until(t.clock, () => t.published.length === 1, 'the first slot of the new schedule');
    expect(t.published.map((r) => r.scheduledFor)).toEqual([new Date(T0 + 7 * MIN)]);
    expect(t.transport.peek(queue)).toHaveLength(1);
  });

  it('a leader that stops between the claim and the slot: the next leader publishes the run once, at its instant', async () => {
    const t = setup({ lookAhead: '2s', instances: 2 });
    const [first, second] = t.schedulers as [Scheduler, Scheduler];
    await first.start();
    await until(t.clock, () => first.isLeader(), 'the first leader');
    await second.start();
    await t.clock.advanceTo(SLOT - 2000);
    await until(t.clock, async () => (await t.slotRun()) !== undefined, 'the claimed-ahead run row');
    const claimed = (await t.slotRun())!;

    await t.clock.advanceTo(SLOT - 1500);
    await first.close();
    await until(t.clock, () => second.isLeader(), 'the second leader');
    expect(t.published).toEqual([]);

    await t.clock.advanceTo(SLOT + 10_000);
    await until(t.clock, () => t.published.length === 1, 'the publish by the second leader');
    await t.clock.flush();
    expect(t.published.map((r) => r.runId)).toEqual([claimed.runId]);
    expect(t.transport.peek(queue).map((m) => m.messageId)).toEqual([claimed.runId]);
    expect((await t.slotRun())!.publishedAt).toEqual(new Date(SLOT));
  });
});
