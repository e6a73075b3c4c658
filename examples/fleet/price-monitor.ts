/**
 * The seed's price-monitor: one queue, `{scope}.jobs.price-monitor`, two jobs that differ
 * in `default_params.action` (`price-monitor-start` at 09:00, `price-monitor-stop` at
 * 15:30). `start` starts a long-running polling loop in this process, `stop` stops it; the
 * startup one-shot (`sync`) starts it when the service boots inside market hours.
 *
 * The seed's version crashed at boot when RabbitMQ was not up yet ("Service initialization
 * failed"); this one starts anyway, retries, and takes its runs once the broker answers.
 *
 *   DATABASE_URL=… AMQP_URL=… npx tsx examples/fleet/price-monitor.ts --scope mock
 */
import { z } from 'zod';
import { PriceLoop, marketOpen } from './lib/price-loop.js';
import { runWorkerService } from './lib/worker-service.js';

await runWorkerService({
  name: 'price-monitor',
  portOffset: 2,
  params: z.object({
    action: z.enum(['start', 'stop', 'sync']),
    // The seed's bodies carry the chain's period here; the loop does not need it.
    interval_seconds: z.number().optional(),
  }),
  startupParams: { action: 'sync' },
  create({ log, env }) {
    const loop = new PriceLoop(log, Number(env.PRICE_TICK_MS ?? 5000));
    return {
      async handler({ params, jobId, triggerSource, log: runLog }) {
        const fields = { job_id: jobId, trigger_source: triggerSource };
        if (params.action === 'start') loop.start(fields);
        else if (params.action === 'stop') loop.stop(fields);
        else if (marketOpen(new Date())) loop.start(fields);
        else runLog.info('market closed: the price monitor waits for its start job');
      },
      close: async () => loop.stop({ reason: 'shutdown' }),
    };
  },
});
