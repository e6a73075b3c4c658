import createDebug from 'debug';
import type { JobLogger } from '../define/types.js';

export const workerDebug = createDebug('warren:worker');

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * A logger whose lines carry fixed fields (job_id, trigger_source, run_id), written through
 * `debug('warren:worker')` and, when given, the host's logger. A throwing host logger never
 * breaks a run.
 */
export function scopedLogger(base: Record<string, unknown>, host: JobLogger | undefined): JobLogger {
  const write = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
    const all = fields ? { ...base, ...fields } : base;
    workerDebug('%s %s %o', level, message, all);
    if (host) {
      try {
        host[level](message, all);
      } catch {
        // a host logger that throws must not fail the job
      }
    }
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
