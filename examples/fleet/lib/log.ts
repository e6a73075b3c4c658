/**
 * JSON lines on stdout, one object a line, as Loki or any log shipper takes them. Every line
 * names its service and scope; a run's lines also carry `job_id` and `trigger_source` (the
 * worker adds them to `ctx.log`), the labels the seed's dashboards filter on.
 */
import type { JobLogger } from 'warren';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface ServiceLogger extends JobLogger {
  /** A logger whose lines also carry these fields. */
  child(fields: Record<string, unknown>): ServiceLogger;
}

/** Errors do not survive JSON.stringify (their fields are not enumerable). */
function plain(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, ...('code' in value ? { code: value.code } : {}) };
  return value;
}

export function createLogger(base: Record<string, unknown>, options: { level?: string; write?: (line: string) => void } = {}): ServiceLogger {
  const min = ORDER[(options.level ?? 'info') as Level] ?? ORDER.info;
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const make = (fixed: Record<string, unknown>): ServiceLogger => {
    const at = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
      if (ORDER[level] < min) return;
      const entry: Record<string, unknown> = { time: new Date().toISOString(), level, ...fixed, msg };
      for (const [key, value] of Object.entries(fields ?? {})) entry[key] = plain(value);
      write(`${JSON.stringify(entry)}\n`);
    };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => make({ ...fixed, ...more }) };
  };
  return make(base);
}
