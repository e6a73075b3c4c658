/**
 * The parts of `prom-client` the adapter uses, typed structurally: warren never imports
 * prom-client, so services that do not export metrics never need it, and the user's own
 * copy (whatever its exact version) is the one their `/metrics` endpoint serves.
 */

/** Label values of one series. */
export type MetricLabels = Record<string, string | number>;

/** A registry: prom-client's `Registry` (or its default `register`). */
export interface MetricsRegistryLike {
  getSingleMetric(name: string): unknown;
}

/** `R` is the client's own registry type: prom-client's constructors take only its `Registry`. */
export interface MetricConfigLike<R = MetricsRegistryLike> {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: R[];
}

export interface HistogramConfigLike<R = MetricsRegistryLike> extends MetricConfigLike<R> {
  buckets: number[];
}

export interface CounterLike {
  inc(labels: MetricLabels, value?: number): void;
}

export interface GaugeLike {
  set(labels: MetricLabels, value: number): void;
  remove(labels: MetricLabels): void;
}

export interface HistogramLike {
  observe(labels: MetricLabels, value: number): void;
}

/** What `import * as promClient from 'prom-client'` provides that warren uses. */
export interface PromClientLike<R extends MetricsRegistryLike = MetricsRegistryLike> {
  Counter: new (config: MetricConfigLike<R>) => CounterLike;
  Gauge: new (config: MetricConfigLike<R>) => GaugeLike;
  Histogram: new (config: HistogramConfigLike<R>) => HistogramLike;
  /** The default registry, used when no `registry` option is given. */
  register: R;
}
