/**
 * The seed's news-crawler: consumes `{scope}.jobs.news-crawler` (real `news-crawler`, mock
 * `mock-news`).
 *
 *   DATABASE_URL=… AMQP_URL=… npx tsx examples/fleet/news-crawler.ts --scope mock
 */
import { z } from 'zod';
import { runWorkerService } from './lib/worker-service.js';
import { pick, work } from './lib/work.js';

await runWorkerService({
  name: 'news-crawler',
  portOffset: 3,
  params: z.object({ sources: z.array(z.string()).default(['yonhap', 'hankyung', 'mk']) }),
  startupParams: {},
  create: () => ({
    async handler({ params, signal, log }) {
      let articles = 0;
      for (const source of params.sources) {
        await work(signal, 50, 250);
        articles += pick(0, 15);
        log.debug('source crawled', { source });
      }
      log.info('crawl finished', { sources: params.sources.length, articles });
    },
  }),
});
