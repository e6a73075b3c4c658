/**
 * warren as the benches use it: straight from the repository's TypeScript source, run by
 * the root's tsx (`npx tsx bench/<name>.ts` from the repo root), so a bench measures the
 * working tree without a build. Public API first; the internals below are only used to
 * pre-seed work (run rows, triggers) the way the scheduler would.
 */
export { createWorker } from '../../src/worker/index.js';
export { createScheduler } from '../../src/scheduler/index.js';
export { defineJob } from '../../src/define/define-job.js';
export { migrate } from '../../src/store/migrate.js';
export { PgStore } from '../../src/store/pg/index.js';
export { AmqpTransport } from '../../src/broker/amqp-transport.js';
export { MemoryTransport } from '../../src/broker/memory-transport.js';
export { delayTopology } from '../../src/broker/delay-topology.js';
export { publishRuns } from '../../src/scheduler/publish-runs.js';
export { syncDefinitions } from '../../src/store/sync-definitions.js';
export { workQueueName, deadQueueName, delayPrefix } from '../../src/names.js';
export type {
  Transport,
  Delivery,
  DeliveryHandler,
  ConsumeOptions,
  Consumer,
  PublishOptions,
  TransportEvents,
} from '../../src/broker/transport.js';
export type { NewRun, RunRecord, Store } from '../../src/store/port.js';
export { createTestHarness } from '../../src/testing/index.js';
