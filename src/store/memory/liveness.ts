/**
 * Liveness in memory, the same rule as PostgreSQL's (docs/reliability.md): an open handle
 * is the session lock, closing it is the socket closing (the harness closes a simulated
 * process's handles when it kills it), and a row says the lock was taken. No clock: the
 * leader's pass gets `now` like every other decision, and a wait ends on release only (the
 * caller's own timer bounds it).
 */
import type { LivenessHandle, LivenessKind, ReleaseOutcome, RunRecord } from '../port.js';
import type { MemoryState } from './state.js';

export interface LivenessRow {
  kind: LivenessKind;
  instanceId: string;
  holding: boolean;
  absentSince: Date | null;
}

export const livenessKey = (kind: LivenessKind, instanceId: string): string => `${kind}\u0000${instanceId}`;

function released(state: MemoryState, key: string): void {
  const waiters = state.livenessWaiters.get(key);
  state.livenessWaiters.delete(key);
  for (const wake of waiters ?? []) wake();
}

function onRelease(state: MemoryState, key: string, wake: () => void): void {
  let set = state.livenessWaiters.get(key);
  if (!set) state.livenessWaiters.set(key, (set = new Set()));
  set.add(wake);
}

export class MemoryLiveness implements LivenessHandle {
  readonly #state: MemoryState;
  readonly #key: string;
  readonly #row: Omit<LivenessRow, 'holding' | 'absentSince'>;
  readonly #onChange: ((held: boolean) => void) | undefined;
  #held = false;
  #closed = false;

  constructor(state: MemoryState, kind: LivenessKind, instanceId: string, onChange?: (held: boolean) => void) {
    this.#state = state;
    this.#key = livenessKey(kind, instanceId);
    this.#row = { kind, instanceId };
    this.#onChange = onChange;
    this.#take();
  }

  get held(): boolean {
    return this.#held;
  }

  /** Taken at once when free; a lock held by another handle (a duplicate id) is taken when it goes. */
  #take(): void {
    if (this.#closed) return;
    const holder = this.#state.livenessLocks.get(this.#key);
    if (holder !== undefined && holder !== this) return onRelease(this.#state, this.#key, () => this.#take());
    this.#state.livenessLocks.set(this.#key, this);
    this.#state.liveness.set(this.#key, { ...this.#row, holding: true, absentSince: null });
    this.#held = true;
    this.#onChange?.(true);
  }

  async awaitRelease(kind: LivenessKind, instanceId: string): Promise<ReleaseOutcome> {
    if (!this.#held) return 'unavailable';
    const key = livenessKey(kind, instanceId);
    if (this.#state.liveness.get(key)?.holding !== true) return 'unavailable';
    if (!this.#state.livenessLocks.has(key)) return 'released';
    return new Promise((resolve) => onRelease(this.#state, key, () => resolve('released')));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#held = false;
    if (this.#state.livenessLocks.get(this.#key) !== this) return;
    // The row stays `holding`, as in PostgreSQL: the lock's absence now means this instance is gone.
    this.#state.livenessLocks.delete(this.#key);
    released(this.#state, this.#key);
  }
}

/** True when `instanceId` of `kind` registered a lock that is absent now (gone, per its row). */
export function lockGone(state: MemoryState, kind: LivenessKind, instanceId: string): boolean {
  const key = livenessKey(kind, instanceId);
  return state.liveness.get(key)?.holding === true && !state.livenessLocks.has(key);
}

/** The leader's pass (see `Store.deadWorkerRuns`). */
export function deadWorkerRuns(state: MemoryState, scope: string, now: Date, graceMs: number): RunRecord[] {
  const cutoff = now.getTime() - graceMs;
  const dead = new Set<string>();
  for (const [key, row] of [...state.liveness]) {
    const live = state.livenessLocks.has(key);
    const absentBefore = row.absentSince;
    row.absentSince = row.holding && !live ? (row.absentSince ?? new Date(now)) : null;
    if (live || (row.holding && (absentBefore === null || absentBefore.getTime() > cutoff))) continue;
    if (row.holding && row.kind === 'worker') dead.add(row.instanceId);
    const busy =
      row.kind === 'worker'
        ? [...state.runs.values()].some((run) => run.status === 'running' && run.workerId === row.instanceId)
        : [...state.leases.values()].some((lease) => lease.holder === row.instanceId);
    if (!busy) state.liveness.delete(key);
  }
  return [...state.runs.values()].filter(
    (run) => run.scope === scope && run.status === 'running' && run.workerId !== null && dead.has(run.workerId),
  );
}

/** The liveness reaper's re-check at completion: still holding, absent since `cutoff` or earlier, lock still absent. */
export function workerGone(state: MemoryState, workerId: string, cutoff: Date): boolean {
  const row = state.liveness.get(livenessKey('worker', workerId));
  return lockGone(state, 'worker', workerId) && row!.absentSince !== null && row!.absentSince.getTime() <= cutoff.getTime();
}
