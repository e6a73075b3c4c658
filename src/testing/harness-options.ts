/* eslint-disable @typescript-eslint/no-explicit-any -- the harness holds job definitions and handlers of every params type side by side */
import { z } from 'zod';
import { duration, hasFunctions, integer, parseOptions, scopeOption } from '../util/options.js';
import type { JobDefinition, JobHandler } from '../define/types.js';
import type { HarnessQueue, TestHarnessOptions } from './types.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const hasFns = (v: unknown, names: string[]): boolean => hasFunctions(...names)(v);
const isDefinition = (v: unknown): v is JobDefinition<any> =>
  isObject(v) && typeof v.id === 'string' && isObject(v.config) && typeof v.parseParams === 'function';

/** The harness's options: one schema, defaults in it. */
export const harnessOptionsSchema = z
  .object({
    jobs: z
      .array(
        z.custom<JobDefinition<any> | { definition: JobDefinition<any>; handler?: JobHandler<any> }>(
          (v) =>
            isDefinition(v) || (isObject(v) && isDefinition(v.definition) && (v.handler === undefined || typeof v.handler === 'function')),
          { error: 'a job definition from defineJob() or { definition, handler }' },
        ),
        { error: 'an array of job definitions' },
      )
      .default([]),
    /** Queue handlers by queue name. @default {} */
    queues: z
      .record(
        z.string(),
        z.custom<JobHandler<any> | HarnessQueue<any>>((v) => typeof v === 'function' || (isObject(v) && typeof v.handler === 'function'), {
          error: 'a handler function or { handler, params? }',
        }),
        { error: 'an object of queue handlers by queue name' },
      )
      .default({}),
    handlers: z
      .union(
        [
          z.record(
            z.string(),
            z.custom<JobHandler<any>>((v) => typeof v === 'function', { error: 'a handler function' }),
          ),
          z.array(
            z.custom<{ definition: JobDefinition<any>; handler: JobHandler<any> }>(
              (v) => isObject(v) && isDefinition(v.definition) && typeof v.handler === 'function',
            ),
          ),
        ],
        { error: 'an object of handlers by job id, or an array of { definition, handler }' },
      )
      .default({}),
    /** @default '2025-01-06T00:00:00.000Z' (a Monday) */
    start: z
      .union([z.date(), z.string(), z.number()], { error: 'a Date, an ISO date string or epoch milliseconds' })
      .default('2025-01-06T00:00:00.000Z')
      .transform((value, ctx) => {
        const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
        if (!Number.isFinite(ms)) {
          ctx.addIssue({ code: 'custom', message: 'a valid date', input: value });
          return z.NEVER;
        }
        return ms;
      }),
    /** @default 'test' */
    scope: scopeOption.default('test'),
    /** @default 1 */
    workers: integer(0, 50).default(1),
    /** @default 1 */
    schedulers: integer(0, 10).default(1),
    /** @default '5m' (fewer idle renewals per fake hour than the scheduler's 15s) */
    leaseTtl: duration(1000).default(300_000),
    /** @default { safetyTick: '1m', livenessCheckInterval: '10s' } */
    schedulerOptions: z
      .record(z.string(), z.unknown())
      .default({})
      .transform((o): Record<string, unknown> => ({ safetyTick: '1m', livenessCheckInterval: '10s', ...o })),
    workerOptions: z.record(z.string(), z.unknown()).default({}),
    store: z
      .custom<NonNullable<TestHarnessOptions['store']>>((v) => hasFns(v, ['claimRuns', 'listRuns', 'acquireLeadership']), {
        error: 'a Store',
      })
      .optional(),
    transport: z
      .custom<NonNullable<TestHarnessOptions['transport']>>((v) => hasFns(v, ['consume', 'publish', 'deadLetter']), {
        error: 'a Transport',
      })
      .optional(),
    clock: z
      .custom<NonNullable<TestHarnessOptions['clock']>>((v) => hasFns(v, ['now', 'setTimer', 'sleep']), { error: 'a Clock' })
      .optional(),
  })
  .strict();

export type ResolvedHarnessOptions = z.output<typeof harnessOptionsSchema>;

export function resolveHarnessOptions(input: unknown): ResolvedHarnessOptions {
  const options = parseOptions(harnessOptionsSchema, input, { label: 'harness option' });
  // Workers write the code definitions too: one default zone for the whole simulated fleet.
  const timezone = options.schedulerOptions.timezone;
  if (timezone !== undefined && !('timezone' in options.workerOptions)) options.workerOptions = { ...options.workerOptions, timezone };
  return options;
}
