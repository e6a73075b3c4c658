import { describe, expect, it } from 'vitest';
import { planSlots } from '../../src/scheduler/plan.js';
import type { JobRecord } from '../../src/store/port.js';
import { slotRunId } from '../../src/util/uuid.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const MIN = 60_000;
/** Slot k of an `every: 1m` job: T0 + k minutes. */
const slot = (k: number) => new Date(T0 + k * MIN);
const at = (ms: number) => new Date(T0 + ms);

type PlanJob = Parameters<typeof planSlots>[0];

function job(overrides: Partial<JobRecord> = {}): PlanJob {
  return {
    scope: 'plan',
    jobId: 'scan',
    schedule: { kind: 'every', everyMs: MIN },
    nextDueAt: slot(1),
    catchup: { mode: 'latest', windowMs: 3_600_000, max: 100 },
    stale: { kind: 'period', ratio: 0.8 },
    overlap: 'skip',
    maxParallel: 1,
    params: { mode: 'swing' },
    epoch: 3,
    ...overrides,
  };
}

const idle = { running: 0, pending: 0 };

function summary(plan: ReturnType<typeof planSlots>) {
  return plan!.claim.runs.map((r) => `${(r.scheduledFor.getTime() - T0) / MIN}:${r.status}:${r.triggerSource}`);
}

describe('planSlots', () => {
  it('returns nothing before the next due slot', () => {
    expect(planSlots(job(), at(MIN - 1), idle)).toBeNull();
    expect(planSlots(job({ nextDueAt: null }), at(10 * MIN), idle)).toBeNull();
  });

  it('runs the due slot on time with its deterministic id, stale deadline and the next slot after now', () => {
    const plan = planSlots(job(), at(MIN + 500), idle)!;
    expect(plan.more).toBe(false);
    expect(plan.claim).toMatchObject({ jobId: 'scan', expectedNextDueAt: slot(1), nextDueAt: slot(2) });
    expect(plan.claim.runs).toEqual([
      {
        runId: slotRunId('plan', 'scan', slot(1)),
        jobId: 'scan',
        scheduledFor: slot(1),
        triggerSource: 'scheduler',
        params: { mode: 'swing' },
        epoch: 3,
        status: 'pending',
        staleAt: at(MIN + 48_000),
        availableAt: slot(1),
      },
    ]);
  });

  describe('after 10 slots of downtime', () => {
    // Slots 1..10 passed; "fresh" = within slot 10's stale window (0.8 × 1m = 48s), "late" = past it.
    const fresh = at(10 * MIN + 10_000);
    const late = at(10 * MIN + 55_000);

    it('none: only a slot within its stale window runs, the older ones are missed', () => {
      const plan = planSlots(job({ catchup: { mode: 'none', windowMs: 3_600_000, max: 100 } }), fresh, idle)!;
      expect(summary(plan)).toEqual([...Array.from({ length: 9 }, (_, i) => `${i + 1}:missed:catchup`), '10:pending:scheduler']);
      expect(plan.claim.nextDueAt).toEqual(slot(11));
      expect(plan.claim.runs[0]!.error).toMatch(/catch-up none/);

      const stale = planSlots(job({ catchup: { mode: 'none', windowMs: 3_600_000, max: 100 } }), late, idle)!;
      expect(stale.claim.runs.every((r) => r.status === 'missed')).toBe(true);
      expect(stale.claim.runs).toHaveLength(10);
    });

    it('latest: the latest slot runs as catch-up with a stale deadline starting now, the others are missed', () => {
      const plan = planSlots(job(), late, idle)!;
      expect(summary(plan)).toEqual([...Array.from({ length: 9 }, (_, i) => `${i + 1}:missed:catchup`), '10:pending:catchup']);
      const latest = plan.claim.runs[9]!;
      expect(latest.availableAt).toEqual(late);
      expect(latest.staleAt).toEqual(new Date(late.getTime() + 48_000));
      expect(plan.claim.runs[0]!.error).toMatch(/superseded/);

      const onTime = planSlots(job(), fresh, idle)!;
      expect(summary(onTime).at(-1)).toBe('10:pending:scheduler');
    });

    it('latest: a latest slot outside the window is missed too', () => {
      const plan = planSlots(job({ catchup: { mode: 'latest', windowMs: 30_000, max: 100 } }), late, idle)!;
      expect(plan.claim.runs.every((r) => r.status === 'missed')).toBe(true);
      expect(plan.claim.runs[9]!.error).toMatch(/outside the catch-up window/);
    });

    it('all: the oldest `max` slots run as catch-up, the rest are missed', () => {
      const plan = planSlots(job({ catchup: { mode: 'all', windowMs: 3_600_000, max: 3 } }), late, idle)!;
      expect(summary(plan)).toEqual([
        '1:pending:catchup',
        '2:pending:catchup',
        '3:pending:catchup',
        ...Array.from({ length: 7 }, (_, i) => `${i + 4}:missed:catchup`),
      ]);
      expect(plan.claim.runs[3]!.error).toMatch(/limit of 3/);
    });

    it('all: an on-time current slot runs besides the catch-up budget; slots outside the window are missed', () => {
      const plan = planSlots(job({ catchup: { mode: 'all', windowMs: 5 * MIN, max: 3 } }), fresh, idle)!;
      // window starts at 5m10s: slots 6..9 are inside, 1..5 outside.
      expect(summary(plan)).toEqual([
        ...Array.from({ length: 5 }, (_, i) => `${i + 1}:missed:catchup`),
        '6:pending:catchup',
        '7:pending:catchup',
        '8:pending:catchup',
        '9:missed:catchup',
        '10:pending:scheduler',
      ]);
    });

    it('processes a long downtime in bounded batches', () => {
      const plan = planSlots(job(), late, idle, 4)!;
      expect(plan.more).toBe(true);
      expect(summary(plan)).toEqual(['1:missed:catchup', '2:missed:catchup', '3:missed:catchup', '4:missed:catchup']);
      expect(plan.claim.nextDueAt).toEqual(slot(5));
      const rest = planSlots(job({ nextDueAt: slot(5) }), late, idle, 100)!;
      expect(rest.more).toBe(false);
      expect(summary(rest).at(-1)).toBe('10:pending:catchup');
    });
  });

  describe('overlap at maxParallel', () => {
    const now = at(MIN);
    const busy = { running: 1, pending: 0 };

    it('skip records the slot skipped', () => {
      const plan = planSlots(job(), now, busy)!;
      expect(plan.claim.runs[0]).toMatchObject({ status: 'skipped', triggerSource: 'scheduler' });
      expect(plan.claim.runs[0]!.error).toMatch(/overlap skip \(1 running, maxParallel 1\)/);
      expect(plan.claim.nextDueAt).toEqual(slot(2));
    });

    it('skip leaves a catch-up backlog pending: it waits for room instead of being skipped', () => {
      const behind = job({ catchup: { mode: 'all', windowMs: 3_600_000, max: 3 } });
      const plan = planSlots(behind, at(5 * MIN + 500), busy)!;
      expect(summary(plan)).toEqual([
        '1:pending:catchup',
        '2:pending:catchup',
        '3:pending:catchup',
        '4:missed:catchup',
        '5:skipped:scheduler',
      ]);
    });

    it('bufferOne keeps one pending run at most', () => {
      expect(planSlots(job({ overlap: 'bufferOne' }), now, busy)!.claim.runs[0]!.status).toBe('pending');
      expect(planSlots(job({ overlap: 'bufferOne' }), now, { running: 1, pending: 1 })!.claim.runs[0]!.status).toBe('skipped');
    });

    it('bufferAll, cancelOther and allowAll insert the run pending', () => {
      for (const overlap of ['bufferAll', 'cancelOther', 'allowAll'] as const) {
        expect(planSlots(job({ overlap }), now, { running: 5, pending: 5 })!.claim.runs[0]!.status).toBe('pending');
      }
    });

    it('below maxParallel every policy runs', () => {
      expect(planSlots(job({ maxParallel: 2 }), now, busy)!.claim.runs[0]!.status).toBe('pending');
    });
  });

  it('honours a next_due_at off the grid (set by a control action) and cron schedules', () => {
    const plan = planSlots(job({ nextDueAt: at(90_000) }), at(2 * MIN + 1000), idle)!;
    expect(plan.claim.runs.map((r) => r.scheduledFor)).toEqual([at(90_000), slot(2)]);

    const cron = job({ schedule: { kind: 'cron', cron: '*/5 * * * *', tz: 'UTC' }, nextDueAt: slot(5) });
    const cronPlan = planSlots(cron, at(5 * MIN + 2000), idle)!;
    expect(cronPlan.claim.nextDueAt).toEqual(slot(10));
    expect(cronPlan.claim.runs[0]!.staleAt).toEqual(at(5 * MIN + 240_000));
  });

  it('clears next_due_at of a job whose schedule was removed', () => {
    const plan = planSlots(job({ schedule: null }), at(5 * MIN), idle)!;
    expect(plan.claim).toEqual({ jobId: 'scan', expectedNextDueAt: slot(1), nextDueAt: null, runs: [] });
  });
});
