/**
 * The harness agrees with production: every shared scenario runs on the harness (in-memory
 * store and broker, FakeClock) and on the real PostgreSQL and RabbitMQ with the system
 * clock, through the same scheduler and worker code, and both must report the same outcome.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { AmqpTransport } from '../../src/broker/amqp-transport.js';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import { cleanupScope } from '../helpers/amqp.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { memoryBackend, runScenario, scenarios, type Backend } from './scenarios.js';

let db: TestDatabase;
const scopes: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('parity', 20);
  await migrate(db.pool, { schema: db.schema });
});

afterAll(async () => {
  // One scope at a time: seven quorum-queue topologies deleted at once load the broker.
  for (const scope of scopes) await cleanupScope(scope);
  await db?.drop();
});

const realBackend: Backend = {
  name: 'postgres+rabbitmq',
  async prepare(label) {
    const scope = uniqueToken(label.slice(0, 12));
    scopes.push(scope);
    const store = new PgStore({ pool: db.pool, schema: db.schema });
    const transport = new AmqpTransport({ url: AMQP_URL, scope });
    return {
      scope,
      options: { store, transport, clock: systemClock },
      async cleanup() {
        await transport.close();
        await store.close();
      },
    };
  },
};

// One scenario at a time: each declares a full quorum-queue delay topology on the real broker,
// and seven declared at once were followed by the broker freezing on this machine.
describe('harness ≡ production', () => {
  for (const scenario of scenarios) {
    test(scenario.name, async () => {
      const harness = await runScenario(scenario, memoryBackend);
      expect(harness).toEqual(scenario.expected);
      const production = await runScenario(scenario, realBackend);
      expect(production).toEqual(harness);
    });
  }
});
