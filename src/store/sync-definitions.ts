import { nextRun } from '../define/schedule.js';
import { DEFAULT_TIME_ZONE, resolveConfig } from '../define/time-zone.js';
import type { JobDefinition } from '../define/types.js';
import type { JobRecord, Store } from './port.js';

/**
 * Writes code definitions into the store (new jobs get their first `next_due_at`;
 * settings changed through the control API survive, see `Store.syncJob`). Both the
 * scheduler and the worker call it at start, so either may boot first. When the code's
 * schedule changed (and the control API has not overridden it), the old next_due_at
 * belongs to the old schedule, so it is replaced by the new schedule's next slot.
 */
export async function syncDefinitions(
  store: Store,
  scope: string,
  definitions: readonly JobDefinition<unknown>[],
  now: Date,
  /** The zone of a cron defined without `tz` (the caller's `timezone` option). */
  timezone: string = DEFAULT_TIME_ZONE,
): Promise<JobRecord[]> {
  const records: JobRecord[] = [];
  for (const definition of definitions) {
    const jobScope = definition.scope ?? scope;
    const config = resolveConfig(definition.config, timezone);
    const first = config.schedule ? nextRun(config.schedule, now) : null;
    const before = await store.getJob(jobScope, definition.id);
    let record = await store.syncJob(jobScope, definition.id, config, { now, nextDueAt: first });
    const scheduleChanged =
      before !== null && !before.overridden.includes('schedule') && JSON.stringify(before.schedule) !== JSON.stringify(config.schedule);
    if (scheduleChanged && (await store.setNextDue(jobScope, definition.id, record.nextDueAt, first))) {
      record = { ...record, nextDueAt: first };
    }
    records.push(record);
  }
  return records;
}
