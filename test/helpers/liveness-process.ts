/**
 * Spawns test/helpers/liveness-child.ts (`node --import tsx`) and reads its JSON lines; used
 * by test/scheduler/liveness.test.ts and bench/liveness.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jsonLines } from './json-lines.js';
import type { LivenessChildConfig } from './liveness-child.js';
import { waitFor } from './wait.js';

const CHILD = fileURLToPath(new URL('./liveness-child.ts', import.meta.url));

export interface LivenessChild {
  readonly process: ChildProcess;
  readonly lines: Array<Record<string, unknown>>;
  /** Waits for a line the predicate accepts; fails with the child's stderr. */
  line(predicate: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGKILL, and wait until the process is gone (its sockets closed by the kernel). */
  kill9(): Promise<void>;
}

export function spawnLivenessChild(config: LivenessChildConfig): LivenessChild {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = jsonLines(child.stdout!);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    lines,
    async line(predicate, what, timeoutMs = 60_000) {
      return waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`the child exited (${child.exitCode}): ${stderr}`);
          return lines.find(predicate);
        },
        `${what} (child stderr: ${stderr.slice(-500)})`,
        { timeoutMs, intervalMs: 5 },
      );
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
