import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The files that need no service (no PostgreSQL, no RabbitMQ, no built dist/): schedule
 * math, the scheduler's plan, options, the message envelope, the harness, the in-memory
 * store and transport and their halves of the contract suites. Everything else is `integration`, so a new file runs
 * with the services unless it is listed here (test/unit-project.test.ts checks the list).
 */
export const UNIT_FILES = [
  'test/clock.test.ts',
  'test/duration.test.ts',
  'test/define/**/*.test.ts',
  'test/adapters/admin-page-http.test.ts',
  'test/adapters/telegram-params.test.ts',
  'test/broker/amqp-options.test.ts',
  'test/broker/envelope.test.ts',
  'test/broker/memory-*.test.ts',
  'test/cli/cli-docs.test.ts',
  'test/scheduler/{memory,outbox-backstop,plan,seed-bodies}.test.ts',
  'test/store/memory-*.test.ts',
  'test/store/{array-literal,run-update}.test.ts',
  'test/testing/{control-contract,docs-example,docs-sync,harness,liveness,node-test,queue-handlers,remote-control-example,user-fake-timers}.test.ts',
  'test/worker/{batcher,deadline,lease,run-book,timer-group,worker-memory}.test.ts',
  'test/services.test.ts',
  'test/unit-project.test.ts',
];

export default defineConfig({
  test: {
    // Every file owns its schema and queue prefix, so files run in parallel; the
    // services are real, so give each test room for broker round-trips.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT_FILES } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT_FILES],
          // Checks PostgreSQL and RabbitMQ once (starting local ones that are down), then builds dist/.
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
