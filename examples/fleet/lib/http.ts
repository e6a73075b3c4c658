/**
 * The fleet's HTTP pieces: a server that closes promptly, and `/metrics` from a prom-client
 * registry that warren/prometheus fills with the `jennie_` prefix the seed's dashboards use.
 */
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as promClient from 'prom-client';
import { createPrometheusMetrics, type PrometheusMetrics } from 'warren/prometheus';

export interface Listening {
  port: number;
  close(): Promise<void>;
}

export async function listen(port: number, listener: RequestListener): Promise<Listening> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets (a scraper's, a browser's) would hold close() open.
        server.closeIdleConnections();
      }),
  };
}

export interface Metrics extends PrometheusMetrics {
  /** Answers GET /metrics; returns false for any other request. */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
}

export function createMetrics(): Metrics {
  const registry = new promClient.Registry();
  const metrics = createPrometheusMetrics({ client: promClient, registry, prefix: 'jennie_' });
  return {
    ...metrics,
    serve(req, res) {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') return false;
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message),
      );
      return true;
    },
  };
}

/** A worker's port answers only /metrics. */
export function metricsOnly(metrics: Metrics): RequestListener {
  return (req, res) => {
    if (!metrics.serve(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
  };
}
