/**
 * warren as the benches use it: the working tree's source (bench/lib/warren-source.ts),
 * bundled at start by esbuild the way the published package is built (tsup: esbuild, no
 * `keepNames`), so a bench measures the code users run, without a build step. Run from
 * source by tsx instead, every function made at run time also gets its name set
 * (`keepNames`): on the worker's hot path that was ~4 % of its CPU and a share of its
 * allocations, a cost the package does not have. `WARREN_BENCH_SOURCE=1` runs the source
 * as it is (tsx), e.g. for a CPU profile with TypeScript line numbers.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type * as Source from './warren-source.js';

export type {
  Transport,
  Delivery,
  DeliveryHandler,
  ConsumeOptions,
  Consumer,
  PublishOptions,
  TransportEvents,
  NewRun,
  RunRecord,
  Store,
} from './warren-source.js';

async function load(): Promise<typeof Source> {
  if (process.env.WARREN_BENCH_SOURCE === '1') return import('./warren-source.js');
  const entry = fileURLToPath(new URL('./warren-source.ts', import.meta.url));
  // Inside the root's node_modules, so the bundle's own imports (pg, amqplib, zod, ...)
  // resolve to the root's packages, as the source's do.
  const dir = fileURLToPath(new URL('../../node_modules/.cache/warren-bench/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const outfile = `${dir}warren-${process.pid}.mjs`;
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  try {
    return (await import(pathToFileURL(outfile).href)) as typeof Source;
  } finally {
    rmSync(outfile, { force: true });
  }
}

const warren = await load();

export const {
  createWorker,
  createScheduler,
  defineJob,
  migrate,
  PgStore,
  AmqpTransport,
  MemoryTransport,
  delayTopology,
  publishRuns,
  syncDefinitions,
  workQueueName,
  deadQueueName,
  delayPrefix,
  createTestHarness,
} = warren;
