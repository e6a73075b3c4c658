/** Simulated work for the example services: a short pause that a timeout or shutdown cuts. */
import { setTimeout as sleep } from 'node:timers/promises';

export function work(signal: AbortSignal, minMs: number, maxMs: number): Promise<void> {
  return sleep(minMs + Math.random() * (maxMs - minMs), undefined, { signal });
}

export function pick(min: number, max: number): number {
  return Math.floor(min + Math.random() * (max - min + 1));
}
