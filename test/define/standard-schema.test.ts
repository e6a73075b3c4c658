/**
 * `params` takes any Standard Schema: zod 3 (`zod3`, 3.25), zod 4, valibot and ArkType
 * each define a job, type its handler's params, parse (defaults merged, transforms
 * applied) and report a bad value as ERR_INVALID_ARGUMENT naming `params.<path>`.
 */
import { type } from 'arktype';
import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z as z4 } from 'zod';
import { z as z3 } from 'zod3';
import { defineJob } from '../../src/define/define-job.js';
import type { StandardSchemaV1 } from '../../src/define/standard-schema.js';
import type { JobHandler, ParamsOf } from '../../src/define/types.js';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { createWorker } from '../../src/worker/index.js';
import { thrownBy } from '../helpers/errors.js';

type Scan = { mode: 'swing' | 'scalp'; limit: number };

const schemas = {
  'zod 3': z3.object({ mode: z3.enum(['swing', 'scalp']), limit: z3.number().int().default(10) }),
  'zod 4': z4.object({ mode: z4.enum(['swing', 'scalp']), limit: z4.number().int().default(10) }),
  valibot: v.object({ mode: v.picklist(['swing', 'scalp']), limit: v.optional(v.pipe(v.number(), v.integer()), 10) }),
  ArkType: type({ mode: "'swing' | 'scalp'", limit: 'number.integer = 10' }),
};

describe.each(Object.entries(schemas))('params as a %s schema', (_name, schema) => {
  const job = defineJob({
    id: 'scan',
    schedule: { every: '5m' },
    params: schema as StandardSchemaV1<unknown, Scan>,
    defaultParams: { mode: 'swing' },
  });

  it("parses with the defaults merged and the schema's own defaults applied", () => {
    expect(job.parseParams(undefined)).toEqual({ mode: 'swing', limit: 10 });
    expect(job.parseParams({ mode: 'scalp', limit: 3 })).toEqual({ mode: 'scalp', limit: 3 });
  });

  it('names the field path of a bad value', () => {
    const error = thrownBy(() => job.parseParams({ limit: 'many' }));
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'params.limit' });
    expect(error.message).toMatch(
      /^Invalid `params\.limit`: expected a value the `params` schema of job `scan` accepts \(.+\), got "many"$/,
    );
  });

  it('refuses defaults its schema rejects, at defineJob', () => {
    const error = thrownBy(() =>
      defineJob({ id: 'scan', schedule: { every: '5m' }, params: schema as StandardSchemaV1, defaultParams: { mode: 'hodl' } }),
    );
    expect(error).toMatchObject({ code: 'ERR_INVALID_JOB', field: 'defaultParams.mode' });
    expect(error.message).toContain('got "hodl"');
  });
});

describe('params schemas: paths and async', () => {
  it('reports nested and array paths from every library', () => {
    const nested = {
      'zod 3': z3.object({ tags: z3.array(z3.string()) }),
      'zod 4': z4.object({ tags: z4.array(z4.string()) }),
      valibot: v.object({ tags: v.array(v.string()) }),
      ArkType: type({ tags: 'string[]' }),
    };
    for (const schema of Object.values(nested)) {
      const job = defineJob({ id: 'tags', params: schema as StandardSchemaV1 });
      expect(thrownBy(() => job.parseParams({ tags: ['ok', 7] })).field).toBe('params.tags.1');
    }
  });

  it('refuses an async schema with ERR_INVALID_JOB naming `params`: at defineJob, or at first use', () => {
    const asyncZod = z4.object({ symbol: z4.string() }).refine(async () => true);
    const error = thrownBy(() => defineJob({ id: 'scan', params: asyncZod, defaultParams: { symbol: 'A' } }));
    expect(error).toMatchObject({ code: 'ERR_INVALID_JOB', field: 'params' });
    expect(error.message).toContain('a schema that validates synchronously');
    const asyncValibot = v.pipeAsync(
      v.object({ symbol: v.string() }),
      v.checkAsync(async () => true),
    );
    expect(thrownBy(() => defineJob({ id: 'scan', params: asyncValibot })).field).toBe('params');
    // zod stops before an async refinement when the sync part fails (no defaults to try):
    // the first parse that reaches it refuses the schema.
    const lazy = defineJob({ id: 'scan', params: asyncZod });
    expect(thrownBy(() => lazy.parseParams({ symbol: 'A' }))).toMatchObject({ code: 'ERR_INVALID_JOB', field: 'params' });
  });

  it('refuses what is not a schema', () => {
    expect(thrownBy(() => defineJob({ id: 'scan', params: { parse: () => ({}) } as never }))).toMatchObject({
      code: 'ERR_INVALID_JOB',
      field: 'params',
    });
  });
});

describe('params types follow the schema (type-level)', () => {
  it("types handler params from each library's output", () => {
    const zod3Job = defineJob({ id: 'a', params: z3.object({ n: z3.string().transform((s) => s.length) }) });
    expectTypeOf<ParamsOf<typeof zod3Job>>().toEqualTypeOf<{ n: number }>();
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a type-level test: only its type is read
    const zod4Job = defineJob({ id: 'b', params: z4.object({ n: z4.string().transform((s) => s.length) }) });
    expectTypeOf<ParamsOf<typeof zod4Job>>().toEqualTypeOf<{ n: number }>();
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a type-level test: only its type is read
    const valibotJob = defineJob({
      id: 'c',
      params: v.object({
        n: v.pipe(
          v.string(),
          v.transform((s) => s.length),
        ),
      }),
    });
    expectTypeOf<ParamsOf<typeof valibotJob>>().toEqualTypeOf<{ n: number }>();
    const arkJob = defineJob({ id: 'd', params: type({ n: type('string').pipe((s) => s.length) }) });
    expectTypeOf<ParamsOf<typeof arkJob>>().toEqualTypeOf<{ n: number }>();

    // defaultParams is typed by the schema's input.
    defineJob({ id: 'e', params: v.object({ mode: v.picklist(['swing', 'scalp']) }), defaultParams: { mode: 'swing' } });
    // @ts-expect-error not a mode the schema takes
    const typo = () => defineJob({ id: 'f', params: z3.object({ mode: z3.enum(['swing', 'scalp']) }), defaultParams: { mode: 'hodl' } });
    expect(typo).toThrow();

    const handler: JobHandler<ParamsOf<typeof valibotJob>> = (ctx) => {
      expectTypeOf(ctx.params.n).toEqualTypeOf<number>();
    };
    expect(typeof handler).toBe('function');
    expect(zod3Job.parseParams({ n: 'abc' })).toEqual({ n: 3 });
    expect(arkJob.parseParams({ n: 'ab' })).toEqual({ n: 2 });
  });

  it("types a queue handler's params from any library, through the same parse", () => {
    const worker = createWorker({ store: new MemoryStore(), transport: new MemoryTransport(), scope: 'types' });
    worker.handleQueue(
      'valibot-queue',
      (ctx) => {
        expectTypeOf(ctx.params).toEqualTypeOf<{ n: number }>();
      },
      {
        params: v.object({
          n: v.pipe(
            v.string(),
            v.transform((s) => s.length),
          ),
        }),
      },
    );
    worker.handleQueue('ark-queue', (ctx) => expectTypeOf(ctx.params).toEqualTypeOf<{ n: number }>(), {
      params: type({ n: type('string').pipe((s) => s.length) }),
    });
    worker.handleQueue('zod3-queue', (ctx) => expectTypeOf(ctx.params).toEqualTypeOf<{ n: string }>(), {
      params: z3.object({ n: z3.string() }),
    });
    expect(() => worker.handleQueue('bad', () => {}, { params: { n: 'string' } as never })).toThrow(/expected a Standard Schema/);
  });

  it("keeps an untyped job's params a record", () => {
    const job = defineJob({ id: 'plain', defaultParams: { action: 'start' } });
    expectTypeOf<ParamsOf<typeof job>>().toEqualTypeOf<Record<string, unknown>>();
    expect(job.parseParams({})).toEqual({ action: 'start' });
  });
});
