import { nextRun } from '../define/schedule.js';
import type { JobDefinition } from '../define/types.js';
import type { JobRecord, Store } from './port.js';

/**
 * Writes code definitions into the store (new jobs get their first `next_due_at`;
 * settings changed through the control API survive, see `Store.syncJob`). Both the
 * scheduler and the worker call it at start, so either may boot first. A job whose
 * effective schedule changed and whose next_due_at no longer matches gets a fresh one.
 */
export async function syncDefinitions(store: Store, scope: string, definitions: readonly JobDefinition<unknown>[], now: Date): Promise<JobRecord[]> {
  const records: JobRecord[] = [];
  for (const definition of definitions) {
    const config = definition.config;
    const first = config.schedule && config.reschedule === 'scheduler' ? nextRun(config.schedule, now) : config.schedule ? nextRun(config.schedule, now) : null;
    const record = await store.syncJob(definition.scope ?? scope, definition.id, { ...config }, { now, nextDueAt: first });
    records.push(record);
  }
  return records;
}
