import { WarrenError } from '../../errors.js';
import type { Fence, LeadershipState } from '../port.js';
import { lockGone } from './liveness.js';
import type { LeaseRow, MemoryState } from './state.js';

function liveLease(state: MemoryState, scope: string, now: Date): (LeaseRow & { holder: string; expiresAt: Date }) | null {
  const lease = state.leases.get(scope);
  if (!lease || lease.holder === null || lease.expiresAt === null || lease.expiresAt.getTime() <= now.getTime()) return null;
  return lease as LeaseRow & { holder: string; expiresAt: Date };
}

/** Takes or renews the scope's lease: free, expired, already ours, or its holder's liveness lock gone. */
export function acquireLeadership(state: MemoryState, scope: string, instanceId: string, ttlMs: number, now: Date): LeadershipState {
  const live = liveLease(state, scope, now);
  if (live && live.holder !== instanceId && !lockGone(state, 'scheduler', live.holder))
    return { leader: false, fence: null, holder: live.holder, expiresAt: new Date(live.expiresAt) };
  const lease = state.leases.get(scope) ?? { holder: null, epoch: 0, expiresAt: null };
  // The fence epoch moves only when the lease changes hands (or was given up).
  if (lease.holder !== instanceId) lease.epoch += 1;
  lease.holder = instanceId;
  lease.expiresAt = new Date(now.getTime() + ttlMs);
  state.leases.set(scope, lease);
  return { leader: true, fence: { instanceId, epoch: lease.epoch }, holder: instanceId, expiresAt: new Date(lease.expiresAt) };
}

export function releaseLeadership(state: MemoryState, scope: string, instanceId: string): void {
  const lease = state.leases.get(scope);
  if (lease && lease.holder === instanceId) {
    lease.holder = null;
    lease.expiresAt = null;
  }
}

export function getLeadership(state: MemoryState, scope: string, now: Date): LeadershipState {
  const live = liveLease(state, scope, now);
  if (!live) return { leader: false, fence: null, holder: null, expiresAt: null };
  return { leader: true, fence: { instanceId: live.holder, epoch: live.epoch }, holder: live.holder, expiresAt: new Date(live.expiresAt) };
}

/** A tick proves it still holds the lease it was given, or writes nothing. */
export function checkFence(state: MemoryState, scope: string, fence: Fence, now: Date): void {
  const live = liveLease(state, scope, now);
  if (!live || live.holder !== fence.instanceId || live.epoch !== fence.epoch) {
    const held = live ? `\`${live.holder}\` (epoch ${live.epoch})` : 'no one';
    throw new WarrenError(
      'ERR_NOT_LEADER',
      `Not the leader of scope \`${scope}\`: the lease is held by ${held}, not \`${fence.instanceId}\` (epoch ${fence.epoch})`,
      { details: { scope, fence } },
    );
  }
}
