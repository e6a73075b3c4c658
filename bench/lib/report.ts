import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function tryRun(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return null;
  }
}

function packageVersion(name: string): string | null {
  for (const base of [path.join(BENCH_DIR, 'node_modules'), path.join(BENCH_DIR, '..', 'node_modules')]) {
    try {
      return (JSON.parse(readFileSync(path.join(base, name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      /* try the next place */
    }
  }
  return null;
}

/** 1/5/15-minute load averages: on a shared 2-core machine they say how noisy a figure is. */
export function loadNow(): number[] {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}

/** What the figures were measured on: printed with every bench and saved with its JSON. */
export function machineInfo(extra: Record<string, string | null> = {}): Record<string, unknown> {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavgAtEnd: loadNow(),
    platform: `${os.type()} ${os.release()}`,
    node: process.version,
    gitCommit: tryRun('git', ['-C', path.join(BENCH_DIR, '..'), 'rev-parse', '--short', 'HEAD']),
    packages: {
      amqplib: packageVersion('amqplib'),
      'amqp-connection-manager': packageVersion('amqp-connection-manager'),
      pg: packageVersion('pg'),
      bullmq: packageVersion('bullmq'),
      ioredis: packageVersion('ioredis'),
      'pg-boss': packageVersion('pg-boss'),
      'graphile-worker': packageVersion('graphile-worker'),
      tsx: packageVersion('tsx'),
      ...extra,
    },
  };
}

export function serverVersions(): Record<string, string | null> {
  return {
    rabbitmq: tryRun('rabbitmqctl', ['version']),
    postgres: tryRun('psql', ['-V']),
    redis: tryRun('redis-server', ['--version'])?.split(' ')[2]?.replace('v=', '') ?? null,
  };
}

/** Prints rows as an aligned text table (first row of keys is the header). */
export function printTable(rows: ReadonlyArray<Record<string, string | number | null>>): void {
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0]!);
  const cell = (v: string | number | null) => (v === null ? '-' : typeof v === 'number' ? formatNumber(v) : v);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k] ?? null).length)));
  const line = (values: string[]) => values.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  console.log(line(keys));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(keys.map((k) => cell(row[k] ?? null))));
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Writes `bench/results/<name>-<date>.json` and returns its path. */
export function writeResult(name: string, data: unknown): string {
  const dir = path.join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
  const file = path.join(dir, `${name}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return path.relative(path.join(BENCH_DIR, '..'), file);
}
