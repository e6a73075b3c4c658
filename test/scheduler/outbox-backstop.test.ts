import { describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { FakeClock } from '../../src/clock.js';
import { defineJob } from '../../src/define/define-job.js';
import { workQueueName } from '../../src/names.js';
import { createScheduler } from '../../src/scheduler/index.js';
import type { TickSummary } from '../../src/scheduler/tick.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { uuidv5 } from '../../src/util/uuid.js';
import { waitOnClock } from '../helpers/wait.js';

// The outbox backstop: a pending run whose trigger was published long ago and that nobody
// claimed long after it was due (the message was lost) is published again by the leader.
const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

describe('scheduler outbox backstop (republishAfter)', () => {
  it('republishes a pending run published 11 minutes ago and never claimed; not one published 1 minute ago', async () => {
    const clock = new FakeClock(T0 + 60 * MIN);
    const store = new MemoryStore();
    const transport = new MemoryTransport({ clock });
    const job = defineJob({ id: 'lost' });
    const scheduler = createScheduler({ store, transport, clock, scope: 'bs', jobs: [job], instanceId: 'leader' });
    const ticks: TickSummary[] = [];
    const republished: string[] = [];
    scheduler.on('tick', (summary) => ticks.push(summary));
    scheduler.on('slot:published', (run) => republished.push(run.runId));
    await scheduler.start();
    const jobRow = (await store.getJob('bs', 'lost'))!;

    // Two on-demand runs, both due 12 minutes ago and published (their triggers since lost):
    // one 11 minutes ago, one 1 minute ago.
    const now = clock.now();
    const oldId = uuidv5('backstop-old');
    const newId = uuidv5('backstop-new');
    const run = (runId: string, ms: number) => ({
      runId,
      jobId: 'lost',
      scheduledFor: new Date(now - 12 * MIN + ms),
      triggerSource: 'manual' as const,
      params: {},
      epoch: jobRow.epoch,
      status: 'pending' as const,
      staleAt: null,
      availableAt: new Date(now - 12 * MIN),
    });
    expect(await store.insertRuns('bs', [run(oldId, 0), run(newId, 1)], new Date(now - 12 * MIN))).toHaveLength(2);
    await store.markPublished([{ runId: oldId, attempt: 1 }], new Date(now - 11 * MIN));
    await store.markPublished([{ runId: newId, attempt: 1 }], new Date(now - MIN));

    await waitOnClock(clock, () => scheduler.isLeader() && ticks.length > 0, 'the first tick');
    expect(republished).toEqual([oldId]);
    expect(ticks[0]!.republished).toBe(1);
    expect(transport.peek(workQueueName('bs', 'lost')).map((m) => m.messageId)).toEqual([oldId]);
    expect((await store.getRun(oldId))!.publishedAt).toEqual(new Date(now));
    expect((await store.getRun(newId))!.publishedAt).toEqual(new Date(now - MIN));

    // Another safety tick later: nothing is resent (the old run was just stamped, the new one is 1 min 10 s old).
    const seen = ticks.length;
    await clock.advance(10_000);
    await waitOnClock(clock, () => ticks.length > seen, 'the next tick');
    expect(republished).toEqual([oldId]);

    // Once the second run's trigger is 10 minutes old too, it is republished (and only it).
    await clock.advanceTo(now + 9 * MIN + 20_000); // past 10 min, plus a safety tick
    await waitOnClock(clock, () => republished.length === 2, 'the second republish');
    expect(republished).toEqual([oldId, newId]);
    await scheduler.close();
  });

  it('rejects a republishAfter under 1s', () => {
    const clock = new FakeClock(T0);
    expect(() =>
      createScheduler({ store: new MemoryStore(), transport: new MemoryTransport({ clock }), clock, scope: 'bs', republishAfter: '10ms' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', field: 'republishAfter' }));
  });
});
