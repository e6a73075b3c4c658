/**
 * Says, while a scheduler or worker waits for its database or broker, what it waits for:
 * `ready({ timeout })` rejects with ERR_NOT_READY carrying the last connection error, and
 * the wait goes on. The service itself never stops for it (boot in any order).
 */
import { isWarrenError, type Duration } from 'warren';
import type { ServiceLogger } from './log.js';

export interface Readiable {
  ready(options?: { timeout?: Duration }): Promise<void>;
}

/** Resolves true once `component` is ready, false when it was closed first. */
export async function reportReadiness(component: Readiable, log: ServiceLogger, every: Duration = '5s'): Promise<boolean> {
  for (;;) {
    try {
      await component.ready({ timeout: every });
      return true;
    } catch (error) {
      if (!isWarrenError(error) || error.code !== 'ERR_NOT_READY') return false;
      log.warn({ error: error.message }, 'not ready yet: waiting for the database and the broker');
    }
  }
}
