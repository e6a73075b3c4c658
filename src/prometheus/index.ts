/**
 * `warren/prometheus`: prom-client metrics fed by worker and scheduler events. prom-client
 * is an optional peer dependency: the caller passes its module in, warren never imports it.
 * See docs/adapters.md.
 */
export { createPrometheusMetrics } from './metrics.js';
export type { PrometheusMetrics } from './metrics.js';
export type { PrometheusMetricsOptions } from './options.js';
export { DEFAULT_DURATION_BUCKETS } from './options.js';
export type { ObservableScheduler, ObservableWorker } from './observe.js';
export type { DeadLetterReasonKind } from './reason-kind.js';
export type { CounterLike, GaugeLike, HistogramLike, MetricLabels, MetricsRegistryLike, PromClientLike } from './client.js';
