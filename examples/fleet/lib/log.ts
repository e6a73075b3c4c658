/**
 * JSON lines on stdout through pino, one object a line, as Loki or any log shipper takes
 * them. Every line names its service and scope; a run's lines also carry `job_id` and
 * `trigger_source` (warren adds them), the labels the seed's dashboards filter on. warren
 * recognises a pino logger and calls it pino's way, `(fields, message)`.
 */
import { pino, type Logger } from 'pino';

export type ServiceLogger = Logger;

export function createLogger(base: Record<string, unknown>, level = 'info'): ServiceLogger {
  return pino(
    {
      base,
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      // `"level":"info"` rather than pino's number: readable in a terminal and in Loki alike.
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous: the service's last lines ("stopped") are written before it exits.
    pino.destination({ dest: 1, sync: true }),
  );
}
