/**
 * Takes docs/admin-page.png: the admin page of a real scheduler and worker (PostgreSQL and
 * RabbitMQ as the tests use them) with a few of the seed's jobs, one paused and one with a
 * failed run, in headless chromium. Run: `npx tsx scripts/screenshot-admin.ts`. Everything
 * it creates (schema, queues) is removed at the end.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createScheduler, createWorker, defineJob, migrate, NonRetryableError } from '../src/index.js';
import { createAdminHandler } from '../src/http/index.js';
import { cleanupScope } from '../test/helpers/amqp.js';
import { launchChromium } from '../test/helpers/chromium.js';
import { AMQP_URL, uniqueToken } from '../test/helpers/env.js';
import { createTestDatabase } from '../test/helpers/pg.js';
import { waitFor } from '../test/helpers/wait.js';

const OUT = process.argv[2] ?? 'docs/admin-page.png';
const TOKEN = 'screenshot-token-0123456789';
const SEOUL = 'Asia/Seoul';

const jobs = [
  defineJob({ id: 'buy-scanner', queue: 'buy-scanner', schedule: { every: '5m' }, description: 'Buy Scanner auto cycle' }),
  defineJob({
    id: 'price-monitor-start',
    queue: 'price-monitor',
    schedule: { cron: '0 9 * * 1-5', tz: SEOUL },
    description: 'Start the price monitor at market open',
  }),
  defineJob({
    id: 'price-monitor-stop',
    queue: 'price-monitor',
    schedule: { cron: '30 15 * * 1-5', tz: SEOUL },
    description: 'Stop the price monitor at market close',
  }),
  defineJob({
    id: 'news-crawler',
    queue: 'news-crawler',
    schedule: { every: '10m' },
    description: 'Crawl the news sources',
    retry: { maxAttempts: 1 },
  }),
  defineJob({
    id: 'scout-daily',
    queue: 'scout',
    schedule: { cron: '0 8 * * 1-5', tz: SEOUL },
    reschedule: 'queue',
    description: 'Scout report before the open',
  }),
];

async function main(): Promise<void> {
  const db = await createTestDatabase('screenshot', 6);
  const scope = uniqueToken('shot').replace(/_/g, '-');
  await migrate(db.pool, { schema: db.schema });
  let crawls = 0;
  const scheduler = createScheduler({ pool: db.pool, schema: db.schema, scope, amqpUrl: AMQP_URL, jobs });
  const worker = createWorker({
    pool: db.pool,
    schema: db.schema,
    scope,
    amqpUrl: AMQP_URL,
    jobs: jobs.map((definition) => ({
      definition,
      handler: () => {
        if (definition.id === 'news-crawler' && ++crawls === 2)
          throw new NonRetryableError('HTTP 503 from news.example.com (retry in the next cycle)');
      },
    })),
  });
  const server = http.createServer(createAdminHandler({ control: scheduler, token: TOKEN, basePath: '/admin' }));
  const browser = await launchChromium();
  try {
    await scheduler.start();
    await worker.start();
    const runIds: string[] = [];
    for (const id of ['buy-scanner', 'news-crawler', 'news-crawler', 'news-crawler', 'price-monitor-start']) {
      runIds.push((await scheduler.runNow(id, id === 'news-crawler' ? { params: { sources: ['wire', 'blogs'] } } : {})).runId);
      // One at a time, so the failing run is the second crawl.
      await waitFor(
        async () => (await scheduler.runs(id, { limit: 10 })).every((r) => r.status !== 'pending' && r.status !== 'running'),
        `${id} to finish`,
      );
    }
    await scheduler.pause('price-monitor-stop', { note: 'Broker maintenance until 14:00' });

    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/`;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, timezoneId: SEOUL });
    await page.goto(url);
    await page.locator('#token').fill(TOKEN);
    await page.locator('#actor-name').fill('kim');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#jobs tbody tr[data-job="news-crawler"] button').click();
    await page.locator('#runs tbody tr[data-run]').nth(2).waitFor();
    await page.locator('#audit tbody tr').nth(2).waitFor();
    await page.screenshot({ path: OUT, fullPage: true });
    console.log(`wrote ${OUT}`);
  } finally {
    await browser.close();
    server.closeAllConnections();
    server.close();
    await scheduler.close().catch(() => {});
    await worker.close().catch(() => {});
    await cleanupScope(scope).catch(() => {});
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
