import { z } from 'zod';
import { hasFunctions, parseOptions } from '../util/options.js';
import type { MetricsRegistryLike, PromClientLike } from './client.js';

/**
 * Job durations run from milliseconds to hours, far past prom-client's default buckets
 * (which stop at 10 s).
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

const BUCKETS = 'a non-empty array of increasing positive finite numbers (seconds)';

const prometheusOptionsSchema = z
  .object({
    /** prom-client itself: `import * as promClient from 'prom-client'` (only Counter, Gauge, Histogram and register are used). */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- prom-client's own Registry type, which warren never imports
    client: z.custom<PromClientLike<any>>(
      hasFunctions('Counter', 'Gauge', 'Histogram'),
      'the prom-client module (with Counter, Gauge and Histogram)',
    ),
    /**
     * The registry the metrics are registered in.
     * @default client.register (prom-client's default registry)
     */
    registry: z.custom<MetricsRegistryLike>(hasFunctions('getSingleMetric'), 'a prom-client Registry').optional(),
    /**
     * Prefix of every metric name.
     * @default 'warren_'
     */
    prefix: z
      .string({ error: 'a metric name prefix such as "warren_"' })
      .regex(
        /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/,
        'a metric name prefix such as "warren_" (letters, digits, "_" and ":", not starting with a digit)',
      )
      .default('warren_'),
    /**
     * Upper bounds (seconds) of the `job_duration_seconds` histogram buckets.
     * @default DEFAULT_DURATION_BUCKETS (10 ms to 1 h)
     */
    buckets: z
      .array(z.number({ error: BUCKETS }).positive(BUCKETS).finite(BUCKETS), { error: BUCKETS })
      .min(1, BUCKETS)
      .refine((b) => b.every((v, i) => i === 0 || v > b[i - 1]!), BUCKETS)
      .default(() => [...DEFAULT_DURATION_BUCKETS]),
  })
  .strict();

/**
 * The schema's input, with `client` generic: prom-client's constructors accept only its own
 * `Registry` type, which warren does not name (it never imports prom-client).
 */
export type PrometheusMetricsOptions<R extends MetricsRegistryLike = MetricsRegistryLike> = Omit<
  z.input<typeof prometheusOptionsSchema>,
  'client'
> & {
  /** prom-client itself: `import * as promClient from 'prom-client'`. */
  client: PromClientLike<R>;
};
export type ResolvedPrometheusMetricsOptions = z.output<typeof prometheusOptionsSchema>;

export function parsePrometheusOptions(options: unknown): ResolvedPrometheusMetricsOptions {
  return parseOptions(prometheusOptionsSchema, options ?? {}, { label: 'prometheus option' });
}
