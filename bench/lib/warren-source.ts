/**
 * What the benches take of warren, from the repository's TypeScript source: public API
 * first; the internals below are only used to pre-seed work (run rows, triggers) the way
 * the scheduler would. bench/lib/warren.ts loads it (bundled like the package, or as source).
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
