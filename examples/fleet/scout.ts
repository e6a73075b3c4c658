/**
 * The seed's scout job: consumes `{scope}.jobs.scout` (real `scout-daily`, mock `mock-scout`).
 *
 *   DATABASE_URL=… AMQP_URL=… npx tsx examples/fleet/scout.ts --scope mock
 */
import { z } from 'zod';
import { runWorkerService } from './lib/worker-service.js';
import { pick, work } from './lib/work.js';

await runWorkerService({
  name: 'scout',
  portOffset: 4,
  params: z.object({ universe: z.string().default('KOSPI200') }),
  startupParams: {},
  create: () => ({
    async handler({ params, signal, log }) {
      await work(signal, 300, 1200);
      log.info('scouting finished', { universe: params.universe, watchlist: pick(5, 20) });
    },
  }),
});
