/**
 * The seed's scheduler-service: leads its scope (publishes due runs, seeds queue-mode chains,
 * reaps lost runs) and serves the admin REST API (bearer token) and /metrics on the
 * scope's port: real 8095, mock 9095.
 *
 *   DATABASE_URL=… AMQP_URL=… WARREN_ADMIN_TOKEN=… npx tsx examples/fleet/scheduler-service.ts --scope mock
 */
import pg from 'pg';
import { createScheduler } from 'warren';
import { createAdminHandler } from 'warren/http';
import { adminToken, backends } from './lib/config.js';
import { createMetrics, listen } from './lib/http.js';
import { reportReadiness } from './lib/readiness.js';
import { runService } from './lib/service.js';

await runService({
  name: 'scheduler-service',
  portOffset: 0,
  async start({ scope, port, log, env }) {
    const { databaseUrl, amqpUrl, schema } = backends(env);
    const token = adminToken(env);
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 5 });
    // An idle client's socket error (the database restarting) must not crash the service.
    pool.on('error', (error) => log.warn({ err: error }, 'database pool error'));

    // The seed's crons name no time zone: they are Seoul market hours. Its own log lines
    // (leading, lost the lead, recovering from an outage) go to the logger.
    const scheduler = createScheduler({ pool, schema, amqpUrl, scope, timezone: 'Asia/Seoul', logger: log });
    const metrics = createMetrics();
    metrics.observeScheduler(scheduler);
    // Migrates, then joins the election; a database or broker still down is retried in the background.
    await scheduler.start();

    const admin = createAdminHandler({ control: scheduler, token, logger: log });
    const server = await listen(port, (req, res) => {
      if (!metrics.serve(req, res)) admin(req, res);
    });
    log.info(
      { url: `http://127.0.0.1:${server.port}`, metrics: `http://127.0.0.1:${server.port}/metrics` },
      'admin API and page listening',
    );
    void reportReadiness(scheduler, log).then((ready) => ready && log.info('ready'));

    return {
      async close() {
        await server.close();
        await scheduler.close();
        await pool.end();
      },
    };
  },
});
