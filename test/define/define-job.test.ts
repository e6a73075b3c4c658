import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineJob, normalizeJobSpec } from '../../src/define/define-job.js';
import type { JobContext, JobHandler, ParamsOf } from '../../src/define/types.js';
import { isWarrenError, type WarrenError } from '../../src/errors.js';

function rejection(spec: unknown): WarrenError {
  try {
    defineJob(spec as never);
  } catch (error) {
    if (isWarrenError(error)) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(spec)} to be rejected`);
}

/** Each class of invalid definition: the field it must name and a piece of the rule. */
const INVALID: { name: string; spec: Record<string, unknown>; field: string; rule: string }[] = [
  { name: 'missing id', spec: { schedule: { every: '5m' } }, field: 'id', rule: 'expected 1-100 characters' },
  { name: 'upper-case id', spec: { id: 'Scan' }, field: 'id', rule: 'expected 1-100 characters' },
  { name: 'queue with a space', spec: { id: 'scan', queue: 'my queue' }, field: 'queue', rule: 'expected 1-100 characters' },
  { name: 'queue reserved by RabbitMQ', spec: { id: 'scan', queue: 'amq.scan' }, field: 'queue', rule: 'not "amq."' },
  { name: 'queue too long', spec: { id: 'scan', queue: 'q'.repeat(101) }, field: 'queue', rule: 'expected 1-100 characters' },
  {
    name: 'cron with 3 fields',
    spec: { id: 'scan', schedule: { cron: '* * *' } },
    field: 'schedule.cron',
    rule: 'expected a 5- or 6-field cron expression',
  },
  { name: 'cron out of range', spec: { id: 'scan', schedule: { cron: '0 25 * * *' } }, field: 'schedule.cron', rule: 'cron expression' },
  {
    name: 'unknown tz',
    spec: { id: 'scan', schedule: { cron: '0 9 * * *', tz: 'Asia/Atlantis' } },
    field: 'schedule.tz',
    rule: 'IANA time zone',
  },
  { name: 'zero interval', spec: { id: 'scan', schedule: { every: 0 } }, field: 'schedule.every', rule: '>= 1s' },
  { name: 'negative interval', spec: { id: 'scan', schedule: { every: -30 } }, field: 'schedule.every', rule: '>= 1s' },
  {
    name: 'sub-second interval',
    spec: { id: 'scan', schedule: { every: '1500ms' } },
    field: 'schedule.every',
    rule: 'whole number of seconds',
  },
  {
    name: 'both cron and every',
    spec: { id: 'scan', schedule: { cron: '* * * * *', every: '1m' } },
    field: 'schedule',
    rule: 'exactly one of',
  },
  { name: 'neither cron nor every', spec: { id: 'scan', schedule: {} }, field: 'schedule', rule: 'exactly one of' },
  { name: 'typo in a key', spec: { id: 'scan', shedule: { every: '1m' } }, field: 'shedule', rule: 'did you mean `schedule`' },
  {
    name: 'typo in a nested key',
    spec: { id: 'scan', retry: { maxAttempt: 2 } },
    field: 'retry.maxAttempt',
    rule: 'did you mean `maxAttempts`',
  },
  { name: 'params not a schema', spec: { id: 'scan', params: { symbol: 'string' } }, field: 'params', rule: 'a Standard Schema' },
  {
    name: 'default params failing their own schema',
    spec: { id: 'scan', params: z.object({ limit: z.number().int() }), defaultParams: { limit: 'ten' } },
    field: 'defaultParams.limit',
    rule: 'the `params` schema accepts',
  },
  {
    name: 'scheduled job whose runs would carry no valid params',
    spec: { id: 'scan', schedule: { every: '1m' }, params: z.object({ symbol: z.string() }) },
    field: 'defaultParams.symbol',
    rule: 'the `params` schema accepts',
  },
  { name: 'default params not an object', spec: { id: 'scan', defaultParams: [1, 2] }, field: 'defaultParams', rule: 'an object' },
  { name: 'maxAttempts 0', spec: { id: 'scan', retry: { maxAttempts: 0 } }, field: 'retry.maxAttempts', rule: 'integer >= 1' },
  { name: 'maxAttempts fractional', spec: { id: 'scan', retry: { maxAttempts: 2.5 } }, field: 'retry.maxAttempts', rule: 'integer >= 1' },
  {
    name: 'unknown backoff type',
    spec: { id: 'scan', retry: { backoff: { type: 'linear', delay: '1s' } } },
    field: 'retry.backoff.type',
    rule: '"fixed", "exponential"',
  },
  {
    name: 'backoff without delay',
    spec: { id: 'scan', retry: { backoff: { type: 'fixed' } } },
    field: 'retry.backoff.delay',
    rule: 'duration',
  },
  {
    name: 'backoff cap below delay',
    spec: { id: 'scan', retry: { backoff: { type: 'exponential', delay: '1m', max: '10s' } } },
    field: 'retry.backoff.max',
    rule: '>= `retry.backoff.delay`',
  },
  {
    name: 'backoff factor below 1',
    spec: { id: 'scan', retry: { backoff: { type: 'exponential', delay: '1s', factor: 0.5 } } },
    field: 'retry.backoff.factor',
    rule: '>= 1',
  },
  {
    name: 'jitter above 1',
    spec: { id: 'scan', retry: { backoff: { type: 'exponential', delay: '1s', jitter: 1.5 } } },
    field: 'retry.backoff.jitter',
    rule: 'from 0 to 1',
  },
  {
    name: 'jitter below 0',
    spec: { id: 'scan', retry: { backoff: { type: 'fixed', delay: '1s', jitter: -0.1 } } },
    field: 'retry.backoff.jitter',
    rule: 'from 0 to 1',
  },
  { name: 'maxParallel 0', spec: { id: 'scan', maxParallel: 0 }, field: 'maxParallel', rule: 'integer >= 1' },
  { name: 'overlap not in the enum', spec: { id: 'scan', overlap: 'queue' }, field: 'overlap', rule: '"skip", "bufferOne"' },
  { name: 'catchup not in the enum', spec: { id: 'scan', catchup: 'everything' }, field: 'catchup', rule: '"none", "latest", "all"' },
  {
    name: 'catchup mode not in the enum',
    spec: { id: 'scan', catchup: { mode: 'some' } },
    field: 'catchup.mode',
    rule: '"none", "latest", "all"',
  },
  { name: 'catchup max 0', spec: { id: 'scan', catchup: { mode: 'all', max: 0 } }, field: 'catchup.max', rule: 'integer >= 1' },
  { name: 'reschedule not in the enum', spec: { id: 'scan', reschedule: 'worker' }, field: 'reschedule', rule: '"scheduler", "queue"' },
  { name: 'timeout 0', spec: { id: 'scan', timeout: 0 }, field: 'timeout', rule: 'duration > 0' },
  { name: 'timeout negative', spec: { id: 'scan', timeout: -1 }, field: 'timeout', rule: 'duration > 0' },
  { name: 'timeout unparsable', spec: { id: 'scan', timeout: 'a while' }, field: 'timeout', rule: 'duration' },
  { name: 'staleAfter 0', spec: { id: 'scan', staleAfter: '0s' }, field: 'staleAfter', rule: 'duration > 0' },
  { name: 'bad scope', spec: { id: 'scan', scope: 'Real.Jobs' }, field: 'scope', rule: 'expected 1-40 characters' },
  {
    name: 'queue mode with no schedule',
    spec: { id: 'scan', reschedule: 'queue' },
    field: 'schedule',
    rule: 'a schedule when `reschedule` is "queue"',
  },
  { name: 'enabled not a boolean', spec: { id: 'scan', enabled: 'yes' }, field: 'enabled', rule: 'true or false' },
  { name: 'description not a string', spec: { id: 'scan', description: 42 }, field: 'description', rule: 'a string' },
];

describe('defineJob: invalid definitions', () => {
  it.each(INVALID)('$name → ERR_INVALID_JOB naming `$field`', ({ spec, field, rule }) => {
    const error = rejection(spec);
    expect(error.code).toBe('ERR_INVALID_JOB');
    expect(error.field).toBe(field);
    expect(error.message).toContain(`field \`${field}\``);
    expect(error.message).toContain(rule);
    expect(error.message).toMatch(/, got /);
  });

  it('message names the job, the field, the rule and the value received', () => {
    const error = rejection({ id: 'scan', schedule: { cron: '* * *' } });
    expect(error.message).toBe('Invalid job `scan` field `schedule.cron`: expected a 5- or 6-field cron expression, got "* * *"');
  });

  it('a spec that is not an object is rejected', () => {
    expect(rejection('scan').code).toBe('ERR_INVALID_JOB');
    expect(rejection(null).code).toBe('ERR_INVALID_JOB');
  });

  it('normalizeJobSpec throws the code it is given', () => {
    expect(() => normalizeJobSpec({ id: 'scan', maxParallel: 0 }, 'ERR_INVALID_ARGUMENT')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'maxParallel' }),
    );
  });
});

describe('defineJob: defaults and normalisation', () => {
  it('fills every default', () => {
    const job = defineJob({ id: 'scan', schedule: { every: '5m' } });
    expect(job.id).toBe('scan');
    expect(job.scope).toBeUndefined();
    expect(job.config).toEqual({
      queue: 'scan',
      schedule: { kind: 'every', everyMs: 300_000 },
      reschedule: 'scheduler',
      params: {},
      enabled: true,
      timeoutMs: 300_000,
      retry: { maxAttempts: 3, backoff: { type: 'exponential', delayMs: 5_000, maxMs: 600_000, factor: 2, jitter: 0.2 } },
      overlap: 'skip',
      maxParallel: 1,
      // 24 × 5 minutes = 2 hours.
      catchup: { mode: 'latest', windowMs: 7_200_000, max: 100 },
      stale: { kind: 'period', ratio: 0.8 },
      description: null,
      runOnStartup: false,
      retention: null,
    });
  });

  it('retention: limits normalised to ms, null lifts one, an absent key is left to the scope; bad values name the field', () => {
    expect(defineJob({ id: 'r1', retention: { maxAge: '7d', keepLast: 100 } }).config.retention).toEqual({
      maxAgeMs: 7 * 86_400_000,
      keepLast: 100,
    });
    expect(defineJob({ id: 'r2', retention: { keepLast: null } }).config.retention).toEqual({ keepLast: null });
    expect(defineJob({ id: 'r3', retention: null }).config.retention).toBeNull();
    expect(() => defineJob({ id: 'r4', retention: { keepLast: 0 } })).toThrow(/`retention\.keepLast`: expected an integer >= 1, got 0/);
    expect(() => defineJob({ id: 'r5', retention: { maxAge: '10ms' } })).toThrow(/`retention\.maxAge`: expected a duration >= 1s/);
    expect(() => defineJob({ id: 'r6', retention: { keep: 5 } as never })).toThrow(/`retention\.keep`/);
  });

  it('catch-up window is at least an hour, and 24 periods for slower schedules', () => {
    expect(defineJob({ id: 'a', schedule: { every: '1m' } }).config.catchup.windowMs).toBe(3_600_000);
    expect(defineJob({ id: 'b' }).config.catchup.windowMs).toBe(3_600_000);
    expect(defineJob({ id: 'c', schedule: { cron: '0 9 * * 1-5', tz: 'Asia/Seoul' } }).config.catchup.windowMs).toBe(24 * 86_400_000);
    expect(defineJob({ id: 'd', schedule: { every: '1h' }, catchup: 'all' }).config.catchup).toEqual({
      mode: 'all',
      windowMs: 86_400_000,
      max: 100,
    });
    expect(defineJob({ id: 'e', catchup: { mode: 'all', window: '3h', max: 5 } }).config.catchup).toEqual({
      mode: 'all',
      windowMs: 10_800_000,
      max: 5,
    });
  });

  it('normalises every field given', () => {
    const job = defineJob({
      id: 'price-monitor-start',
      queue: 'price-monitor',
      scope: 'real',
      schedule: { cron: '0 9 * * 1-5', tz: 'Asia/Seoul' },
      reschedule: 'queue',
      params: z.object({ action: z.enum(['start', 'stop']) }),
      defaultParams: { action: 'start' },
      timeout: 120,
      retry: { maxAttempts: 5, backoff: { type: 'fixed', delay: '30s' } },
      overlap: 'bufferOne',
      maxParallel: 2,
      staleAfter: '10m',
      description: 'Start the price monitor',
      enabled: false,
      runOnStartup: true,
    });
    expect(job.scope).toBe('real');
    expect(job.config).toMatchObject({
      queue: 'price-monitor',
      schedule: { kind: 'cron', cron: '0 9 * * 1-5', tz: 'Asia/Seoul' },
      reschedule: 'queue',
      params: { action: 'start' },
      timeoutMs: 120_000,
      retry: { maxAttempts: 5, backoff: { type: 'fixed', delayMs: 30_000, maxMs: 30_000, factor: 1, jitter: 0 } },
      overlap: 'bufferOne',
      maxParallel: 2,
      stale: { kind: 'fixed', ms: 600_000 },
      description: 'Start the price monitor',
      enabled: false,
      runOnStartup: true,
    });
    expect(defineJob({ id: 'n', staleAfter: null }).config.stale).toEqual({ kind: 'never' });
  });

  it('is frozen, config included, and JSON-safe', () => {
    const job = defineJob({ id: 'scan', schedule: { every: '5m' }, defaultParams: { nested: { a: 1 } } });
    expect(Object.isFrozen(job)).toBe(true);
    expect(Object.isFrozen(job.config.retry.backoff)).toBe(true);
    expect(Object.isFrozen(job.config.params.nested)).toBe(true);
    expect(JSON.parse(JSON.stringify(job.config))).toEqual(job.config);
  });

  it("does not keep a reference to the caller's default params", () => {
    const defaults = { symbols: ['AAPL'] };
    const job = defineJob({ id: 'scan', defaultParams: defaults });
    defaults.symbols.push('MSFT');
    expect(job.config.params).toEqual({ symbols: ['AAPL'] });
  });
});

describe('defineJob: params', () => {
  const scan = defineJob({
    id: 'scan',
    schedule: { every: '5m' },
    params: z.object({ mode: z.enum(['swing', 'scalp']), limit: z.number().int().default(10), tags: z.array(z.string()).optional() }),
    defaultParams: { mode: 'swing' },
  });

  it('merges defaults under the input and applies the schema', () => {
    expect(scan.parseParams(undefined)).toEqual({ mode: 'swing', limit: 10 });
    expect(scan.parseParams({ limit: 3 })).toEqual({ mode: 'swing', limit: 3 });
    expect(scan.parseParams({ mode: 'scalp', tags: ['x'] })).toEqual({ mode: 'scalp', limit: 10, tags: ['x'] });
  });

  it('rejects bad params with ERR_INVALID_ARGUMENT naming params.<path>', () => {
    expect(() => scan.parseParams({ limit: 'many' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'params.limit' }),
    );
    expect(() => scan.parseParams({ tags: ['ok', 7] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'params.tags.1' }),
    );
    expect(() => scan.parseParams('swing')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'params' }));
    try {
      scan.parseParams({ mode: 'hodl' });
    } catch (error) {
      expect((error as Error).message).toMatch(/^Invalid `params\.mode`: expected .*, got "hodl"$/);
    }
  });

  it('the default schema accepts any object', () => {
    const job = defineJob({ id: 'any', defaultParams: { a: 1 } });
    expect(job.parseParams({ b: 2 })).toEqual({ a: 1, b: 2 });
  });

  it('types the handler by the schema', () => {
    expectTypeOf(scan.parseParams).returns.toEqualTypeOf<{ mode: 'swing' | 'scalp'; limit: number; tags?: string[] | undefined }>();
    expectTypeOf<ParamsOf<typeof scan>>().toEqualTypeOf<{ mode: 'swing' | 'scalp'; limit: number; tags?: string[] | undefined }>();
    const handler: JobHandler<ParamsOf<typeof scan>> = (ctx) => ctx.params.limit + 1;
    expectTypeOf(handler).parameter(0).toEqualTypeOf<JobContext<{ mode: 'swing' | 'scalp'; limit: number; tags?: string[] | undefined }>>();
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a type-level test: only its type is read
    const untyped = defineJob({ id: 'any' });
    expectTypeOf<ParamsOf<typeof untyped>>().toEqualTypeOf<Record<string, unknown>>();
    // @ts-expect-error defaultParams must match the schema's input type
    expect(() => defineJob({ id: 'bad', params: z.object({ n: z.number() }), defaultParams: { n: 'x' } })).toThrow();
  });
});
