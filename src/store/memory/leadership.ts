import type { Fence, LeadershipState } from '../port.js';
import { fenceHolds, leadershipState, notLeaderError } from '../leadership.js';
import { lockGone } from './liveness.js';
import type { MemoryState } from './state.js';

/** Takes or renews the scope's lease: free, expired, already ours, or its holder's liveness lock gone. */
export function acquireLeadership(state: MemoryState, scope: string, instanceId: string, ttlMs: number, now: Date): LeadershipState {
  const current = leadershipState(state.leases.get(scope), now, instanceId);
  if (current.holder !== null && !current.leader && !lockGone(state, 'scheduler', current.holder)) return current;
  const lease = state.leases.get(scope) ?? { holder: null, epoch: 0, expiresAt: null };
  // The fence epoch moves only when the lease changes hands (or was given up).
  if (lease.holder !== instanceId) lease.epoch += 1;
  lease.holder = instanceId;
  lease.expiresAt = new Date(now.getTime() + ttlMs);
  state.leases.set(scope, lease);
  const won = leadershipState(lease, now, instanceId);
  // Another instance's unexpired lease, taken because its liveness lock was gone.
  return current.holder !== null && !current.leader ? { ...won, takenFromLiveHolder: true } : won;
}

export function releaseLeadership(state: MemoryState, scope: string, instanceId: string): void {
  const lease = state.leases.get(scope);
  if (lease && lease.holder === instanceId) {
    lease.holder = null;
    lease.expiresAt = null;
  }
}

export function getLeadership(state: MemoryState, scope: string, now: Date): LeadershipState {
  return leadershipState(state.leases.get(scope), now, null);
}

/** A tick proves it still holds the lease it was given, or writes nothing. */
export function checkFence(state: MemoryState, scope: string, fence: Fence, now: Date): void {
  const current = getLeadership(state, scope, now).fence;
  if (!fenceHolds(fence, current)) throw notLeaderError(scope, fence, current);
}
