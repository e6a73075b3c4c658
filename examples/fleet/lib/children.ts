/**
 * The launcher's child processes: each service is its own Node process (TypeScript through
 * tsx's loader), its output passed on line by line, stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface Child {
  /** `mock/buy-scanner` */
  label: string;
  process: ChildProcess;
  /** Settles with the exit code (a signal death counts as 128 + its number, as a shell says). */
  exited: Promise<number>;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export function startChild(
  label: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onLine: (label: string, line: string, stream: 'stdout' | 'stderr') => void,
): Child {
  const file = fileURLToPath(new URL(`../${script}`, import.meta.url));
  // `node --import tsx` rather than the tsx CLI: one process per service, and signals reach it directly.
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stdout! }).on('line', (line) => onLine(label, line, 'stdout'));
  createInterface({ input: child.stderr! }).on('line', (line) => onLine(label, line, 'stderr'));
  const exited = new Promise<number>((resolve) => {
    child.once('error', () => resolve(127));
    // 'close', not 'exit': its last lines are read by then.
    child.once('close', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0)));
  });
  return { label, process: child, exited };
}

/** A line that is not JSON (a stack trace, register-jobs' report) as a JSON log line of its service. */
export function jsonLine(label: string, line: string, stream: 'stdout' | 'stderr'): string {
  if (line.startsWith('{')) return line;
  const [scope, service] = label.split('/');
  return JSON.stringify({ time: new Date().toISOString(), level: stream === 'stderr' ? 'error' : 'info', service, scope, msg: line });
}

/** A JSON log line as `12:00:01.234 mock/buy-scanner info  run succeeded  job_id=…`; anything else as it came. */
export function prettyLine(label: string, line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${label.padEnd(24)} ${line}`;
  }
  if (entry === null || typeof entry !== 'object') return `${label.padEnd(24)} ${line}`;
  const { time, level, msg, service: _service, scope: _scope, ...fields } = entry;
  const rest = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  return `${clock} ${label.padEnd(24)} ${String(level ?? '').padEnd(5)} ${String(msg ?? '')}${rest ? `  ${rest}` : ''}`;
}
