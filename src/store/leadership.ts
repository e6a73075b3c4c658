/**
 * What a scope's lease row means, once for every store: who leads, under which fence, and
 * the error a write under a fence that moved on gets.
 */
import { WarrenError } from '../errors.js';
import type { Fence, LeadershipState } from './port.js';

/** A scope's lease row as both stores hold it. */
export interface LeaseRow {
  holder: string | null;
  epoch: number;
  expiresAt: Date | null;
}

/**
 * The lease as seen at `now`: nobody leads when it is free or expired. With an `instanceId`
 * the answer is from that instance's point of view (`leader` only if it holds the lease);
 * without, it describes the holder (`leader` true and its fence, when there is one).
 */
export function leadershipState(lease: LeaseRow | null | undefined, now: Date, instanceId: string | null): LeadershipState {
  const live = lease != null && lease.holder !== null && lease.expiresAt !== null && lease.expiresAt.getTime() > now.getTime();
  if (!live) return { leader: false, fence: null, holder: null, expiresAt: null };
  const holder = lease.holder!;
  const leader = instanceId === null || holder === instanceId;
  return {
    leader,
    fence: leader ? { instanceId: holder, epoch: lease.epoch } : null,
    holder,
    expiresAt: new Date(lease.expiresAt!),
  };
}

/** A tick's fence is stale: `current` is the live lease's fence (null when nobody leads). */
export function notLeaderError(scope: string, fence: Fence, current: Fence | null): WarrenError {
  const held = current ? `\`${current.instanceId}\` (epoch ${current.epoch})` : 'no one';
  return new WarrenError(
    'ERR_NOT_LEADER',
    `Not the leader of scope \`${scope}\`: the lease is held by ${held}, not \`${fence.instanceId}\` (epoch ${fence.epoch})`,
    { field: 'fence', details: { scope, fence } },
  );
}

/** Whether `fence` is the live lease's fence. */
export function fenceHolds(fence: Fence, current: Fence | null): boolean {
  return current !== null && current.instanceId === fence.instanceId && current.epoch === fence.epoch;
}
