import { publishRuns } from '../../src/scheduler/publish-runs.js';
import type { Transport } from '../../src/broker/transport.js';
import type { JobDefinition } from '../../src/define/types.js';
import type { JobRecord, NewRun, RunRecord, Store } from '../../src/store/port.js';
import { syncDefinitions } from '../../src/store/sync-definitions.js';
import { uuidv5 } from '../../src/util/uuid.js';

let counter = 0;

/**
 * What a test enqueues by hand, as the leader would: syncs `definition`, inserts one
 * pending manual run per entry of `runs` (each entry overrides fields; ids unique), and
 * publishes their triggers unless `publish` is false. The same for the real and the
 * in-memory store and broker.
 */
export async function enqueueRuns(
  target: { store: Store; transport: Transport; scope: string; now: number },
  definition: JobDefinition<any>,
  runs: Array<Partial<NewRun>> = [{}],
  { publish = true }: { publish?: boolean } = {},
): Promise<{ job: JobRecord; runs: RunRecord[] }> {
  const { store, transport, scope } = target;
  const now = new Date(target.now);
  const [job] = await syncDefinitions(store, scope, [definition], now);
  const rows: NewRun[] = runs.map((overrides) => ({
    runId: uuidv5(`${scope}|test|${++counter}|${Math.random()}`),
    jobId: definition.id,
    scheduledFor: new Date(now.getTime() + counter),
    triggerSource: 'manual',
    params: {},
    epoch: job!.epoch,
    status: 'pending',
    staleAt: null,
    availableAt: now,
    ...overrides,
  }));
  const inserted = await store.insertRuns(scope, rows, now);
  if (publish) {
    const { failed } = await publishRuns(transport, store, inserted, () => job!, target.now);
    if (failed.length > 0) throw failed[0]!.error;
  }
  return { job: job!, runs: inserted };
}
