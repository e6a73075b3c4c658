import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AMQP_URL, DATABASE_URL } from './env.js';
import { ensureServices } from './services.js';

/**
 * The integration project's setup: fails the run once, naming the service, the URL tried
 * and the command that starts it, when PostgreSQL or RabbitMQ does not answer (a local one
 * that is down is started first, as `.ci/run` does; WARREN_TEST_START_SERVICES=0 turns
 * that off). Then builds dist/ when it is stale.
 */
export default async function setup(): Promise<void> {
  await ensureServices({ databaseUrl: DATABASE_URL, amqpUrl: AMQP_URL, start: process.env.WARREN_TEST_START_SERVICES !== '0' });
  // The example, fleet and CLI tests run the built package: build it when dist/ is missing
  // or older than the sources, so `npm test` works right after `npm ci` (a no-op after a build).
  const built = spawnSync(process.execPath, ['scripts/ensure-build.mjs'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error('warren: building dist/ for the tests failed (npm run build)');
}
