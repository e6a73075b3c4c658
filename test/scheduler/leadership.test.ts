import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type ProxiedScheduler, type SchedulerFixture } from './setup.js';

const TTL_MS = 2000;

describe('leader election: three schedulers on separate pools, one scope', () => {
  let fx: SchedulerFixture;
  const instances: ProxiedScheduler[] = [];
  /** Every gain and loss, in order, to check that two never led at once. */
  const timeline: Array<{ at: number; seq: number; name: string; kind: 'gained' | 'lost' }> = [];
  let seq = 0;

  beforeAll(async () => {
    fx = await schedulerFixture('leader');
    instances.push(...(await fx.proxiedSchedulers(3, { leaseTtl: TTL_MS / 1000, safetyTick: '1s' })));
    for (const { name, scheduler } of instances) {
      scheduler.on('leader:gained', () => timeline.push({ at: Date.now(), seq: seq++, name, kind: 'gained' }));
      scheduler.on('leader:lost', () => timeline.push({ at: Date.now(), seq: seq++, name, kind: 'lost' }));
    }
  });

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.scheduler.close()));
    await fx.teardown();
  });

  const leaders = () => instances.filter((i) => i.scheduler.isLeader());
  const oneLeader = () => {
    const now = leaders();
    return now.length === 1 ? now[0]! : undefined;
  };

  it('elects exactly one leader', async () => {
    await Promise.all(instances.map((i) => i.scheduler.start()));
    const leader = await waitFor(oneLeader, 'one leader', { timeoutMs: 3 * TTL_MS });
    const lease = await fx.store.getLeadership(fx.scope, new Date());
    expect(lease.holder).toBe(leader.name);
    expect(leaders()).toHaveLength(1);
  });

  it('fails over within the lease TTL when the leader loses its database connections', async () => {
    const old = oneLeader()!;
    // Keep it off the database (new connections refused), then kill its backends.
    old.proxy.pause();
    const killed = await fx.killBackends(old.name);
    old.proxy.cutAll();
    expect(killed).toBeGreaterThan(0);
    const next = await waitFor(() => instances.find((i) => i !== old && i.scheduler.isLeader()), 'another leader', {
      timeoutMs: TTL_MS + 1500,
    });
    expect(old.scheduler.isLeader()).toBe(false);
    expect((await fx.store.getLeadership(fx.scope, new Date())).holder).toBe(next.name);
    // The old leader comes back as a follower.
    old.proxy.resume();
    await waitFor(
      () => old.scheduler.state === 'running' && !old.scheduler.isLeader() && oneLeader() === next,
      'the old leader back as a follower',
      { timeoutMs: 3 * TTL_MS },
    );
  });

  it('hands over at once on a graceful stop', async () => {
    const old = oneLeader()!;
    const stopped = old.scheduler.close();
    // "At once": well under the TTL, since stop() releases the lease and NOTIFYs the followers.
    const next = await waitFor(() => instances.find((i) => i !== old && i.scheduler.isLeader()), 'a new leader after a graceful stop', {
      timeoutMs: TTL_MS / 2,
    });
    await stopped;
    expect(old.scheduler.isLeader()).toBe(false);
    expect(next).toBeDefined();
  });

  it('never had two leaders at once', () => {
    const sorted = [...timeline].sort((a, b) => a.at - b.at || a.seq - b.seq);
    const current = new Set<string>();
    for (const event of sorted) {
      if (event.kind === 'gained') {
        expect([...current], `${event.name} gained while others led`).toEqual([]);
        current.add(event.name);
      } else current.delete(event.name);
    }
    expect(sorted.filter((e) => e.kind === 'gained').length).toBeGreaterThanOrEqual(3);
  });
});
