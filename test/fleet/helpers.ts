/**
 * The fleet tests run examples/fleet's services as real processes (`node --import tsx`),
 * on the built package (they import `warren` by name), each test file in its own schema,
 * scope prefix and ports. Their JSON log lines are collected for the assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AMQP_URL, DATABASE_URL } from '../helpers/env.js';

export { assertBuilt } from '../helpers/built.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ADMIN_TOKEN = 'fleet-test-token-0123456789';

export interface LogEntry {
  time: string;
  level: string;
  service?: string;
  scope?: string;
  msg: string;
  [field: string]: unknown;
}

export interface Proc {
  readonly child: ChildProcess;
  /** Parsed JSON lines of stdout, in order. */
  readonly entries: LogEntry[];
  /** Every line, stdout and stderr, for failure messages. */
  readonly lines: string[];
  /** Settles with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  waitForLog(match: (entry: LogEntry) => boolean, what: string, timeoutMs?: number): Promise<LogEntry>;
}

/** Runs `examples/fleet/<script>` as its own process. `detached`: its own process group, so a failed test can end it and its children. */
export function startProcess(script: string, args: string[], env: NodeJS.ProcessEnv, options: { detached?: boolean } = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/fleet/${script}`, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const entries: LogEntry[] = [];
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    try {
      const entry = JSON.parse(line) as LogEntry;
      if (entry !== null && typeof entry === 'object') entries.push(entry);
    } catch {
      // not a log line
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(`stderr: ${line}`));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    entries,
    lines,
    exited,
    async waitForLog(match, what, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = entries.find(match);
        if (found) return found;
        // A process that died will never log it: fail at once, with its last words.
        if (child.exitCode !== null || Date.now() > deadline) {
          const why = child.exitCode !== null ? `${script} exited ${child.exitCode}` : `timed out after ${timeoutMs} ms`;
          throw new Error(`${why} waiting for ${what}\n--- output ---\n${lines.slice(-60).join('\n')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/** Ends a process group left running by a failed test (SIGKILL: nothing graceful is left to prove). */
export function killGroup(proc: Proc | undefined): void {
  if (proc?.child.pid === undefined || proc.child.exitCode !== null) return;
  try {
    process.kill(-proc.child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port with `count` free ports from it (a scheduler's port and its workers' /metrics ports). */
export async function freePortRange(count: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} free consecutive ports found`);
}

/** The environment a fleet process gets: real services, this file's schema, scope prefix and ports. */
export function fleetEnv(options: {
  schema: string;
  prefix: string;
  ports: { real?: number; mock?: number };
  amqpUrl?: string;
  extra?: NodeJS.ProcessEnv;
}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL,
    AMQP_URL: options.amqpUrl ?? AMQP_URL,
    WARREN_ADMIN_TOKEN: ADMIN_TOKEN,
    FLEET_SCHEMA: options.schema,
    FLEET_SCOPE_PREFIX: options.prefix,
    ...options.extra,
  };
  if (options.ports.real !== undefined) env.FLEET_REAL_PORT = String(options.ports.real);
  if (options.ports.mock !== undefined) env.FLEET_MOCK_PORT = String(options.ports.mock);
  return env;
}

/** A scope's seed bodies (examples/jobs/seed-<profile>.json) with their queues moved to a prefixed scope. */
export function seedBodies(profile: 'real' | 'mock', scope: string): Array<Record<string, unknown> & { job_id: string; queue: string }> {
  const bodies = JSON.parse(readFileSync(new URL(`../../examples/jobs/seed-${profile}.json`, import.meta.url), 'utf8')) as Array<{
    job_id: string;
    queue: string;
  }>;
  return bodies.map((body) => ({ ...body, queue: body.queue.replace(`${profile}.jobs.`, `${scope}.jobs.`) }));
}
