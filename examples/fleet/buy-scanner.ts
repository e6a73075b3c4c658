/**
 * The seed's buy-scanner: consumes `{scope}.jobs.buy-scanner`, so every job routed there
 * runs here (real `buy-scanner`, mock `mock-buy-scanner`, and any job added over REST).
 *
 *   DATABASE_URL=… AMQP_URL=… npx tsx examples/fleet/buy-scanner.ts --scope mock
 */
import { z } from 'zod';
import { runWorkerService } from './lib/worker-service.js';
import { pick, work } from './lib/work.js';

await runWorkerService({
  name: 'buy-scanner',
  portOffset: 1,
  params: z.object({ scan_mode: z.enum(['swing', 'scalp']).default('swing') }),
  startupParams: { scan_mode: 'swing' },
  create: () => ({
    async handler({ params, signal, log }) {
      await work(signal, 100, 600);
      log.info('scan finished', { scan_mode: params.scan_mode, symbols: pick(180, 220), candidates: pick(0, 6) });
    },
  }),
});
