import { describe, expect, it } from 'vitest';
import { parseConfigPatch, parseJobInput } from '../../src/define/job-input.js';
import { resolveConfig } from '../../src/define/time-zone.js';
import { isWarrenError, type WarrenError } from '../../src/errors.js';
import { MOCK_BODIES, REAL_BODIES } from '../helpers/seed-bodies.js';

function rejection(fn: () => unknown): WarrenError {
  try {
    fn();
  } catch (error) {
    if (isWarrenError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('parseJobInput: the seed REST bodies (§10)', () => {
  const cron = (expr: string) => ({ kind: 'cron', cron: expr });
  const fixed = (seconds: number) => ({ kind: 'fixed', ms: seconds * 1000 });
  const ratio = { kind: 'period', ratio: 0.8 };
  // A cron is a cron in both modes; interval_seconds beside it is the period (TTL 0.8 ×);
  // the bodies name no tz, so it is left to the scheduler's default.
  it.each([
    [REAL_BODIES[0], 'real', 'buy-scanner', cron('*/5 * * * *'), fixed(240), {}],
    [REAL_BODIES[1], 'real', 'news-crawler', cron('*/10 * * * *'), fixed(480), {}],
    [REAL_BODIES[2], 'real', 'price-monitor', cron('0 9 * * 1-5'), ratio, { action: 'start', interval_seconds: 86400 }],
    [REAL_BODIES[3], 'real', 'price-monitor', cron('30 15 * * 1-5'), ratio, { action: 'stop', interval_seconds: 86400 }],
    [REAL_BODIES[4], 'real', 'scout', cron('0 8 * * 1-5'), fixed(69_120), {}],
    [MOCK_BODIES[0], 'mock', 'buy-scanner', cron('*/5 * * * *'), fixed(96), {}],
    [MOCK_BODIES[1], 'mock', 'news-crawler', cron('*/10 * * * *'), fixed(480), {}],
    [MOCK_BODIES[2], 'mock', 'price-monitor', cron('0 0 * * *'), ratio, { action: 'start', interval_seconds: 86400 }],
    [MOCK_BODIES[3], 'mock', 'price-monitor', cron('0 1 * * *'), ratio, { action: 'stop', interval_seconds: 86400 }],
    [MOCK_BODIES[4], 'mock', 'scout', cron('0 9 * * 1-5'), fixed(69_120), {}],
  ])('$job_id → scope %s, queue %s, the cron, stale %j', (body, scope, queue, schedule, stale, params) => {
    const input = parseJobInput(body);
    expect(input).toEqual({
      id: body.job_id,
      scope,
      config: expect.objectContaining({ queue, schedule, stale, params, reschedule: 'queue', enabled: true }),
    });
    expect(input.config.description).toBe('description' in body ? body.description : null);
  });

  it('keeps a given tz, in scheduler mode too, and the TTL from interval_seconds', () => {
    const input = parseJobInput({
      job_id: 'news',
      cron_expr: '*/10 * * * *',
      interval_seconds: 600,
      reschedule_mode: 'scheduler',
      tz: 'Asia/Seoul',
    });
    expect(input.config).toMatchObject({
      schedule: { kind: 'cron', cron: '*/10 * * * *', tz: 'Asia/Seoul' },
      reschedule: 'scheduler',
      stale: { kind: 'fixed', ms: 480_000 },
    });
    expect(input.scope).toBeUndefined();
    expect(parseJobInput({ ...REAL_BODIES[4], tz: 'Asia/Seoul' }).config.schedule).toEqual({
      kind: 'cron',
      cron: '0 8 * * 1-5',
      tz: 'Asia/Seoul',
    });
  });

  it('an interval without a cron is `every`', () => {
    const input = parseJobInput({ job_id: 'scout', queue: 'scout', interval_seconds: 86400, reschedule_mode: 'queue' });
    expect(input.config).toMatchObject({ schedule: { kind: 'every', everyMs: 86_400_000 }, stale: { kind: 'period', ratio: 0.8 } });
  });

  it('maps max_parallel, timeout_sec and max_attempts', () => {
    const input = parseJobInput({
      job_id: 'scout',
      queue: 'scout',
      interval_seconds: 86400,
      max_parallel: 2,
      timeout_sec: 120,
      max_attempts: 5,
    });
    expect(input.config).toMatchObject({ queue: 'scout', maxParallel: 2, timeoutMs: 120_000, retry: { maxAttempts: 5 } });
  });

  it.each([
    [{ job_id: 'x', cron_expr: '* * *' }, 'cron_expr'],
    [{ job_id: 'x', interval_seconds: 0 }, 'interval_seconds'],
    [{ job_id: 'x', cron_expr: '0 9 * * *', interval_seconds: 0 }, 'interval_seconds'],
    [{ job_id: 'x', cron_expr: '0 9 * * *', interval_seconds: 1.5, reschedule_mode: 'queue' }, 'interval_seconds'],
    [{ job_id: 'x', cron_expr: '0 9 * * *', tz: 'Nowhere/Town' }, 'tz'],
    [{ ...REAL_BODIES[4], tz: 'Asia/Soul' }, 'tz'],
    [{ ...REAL_BODIES[4], tz: '' }, 'tz'],
    [{ job_id: 'x', interval_seconds: 60, tz: 'Asia/Seoul' }, 'tz'],
    [{ job_id: 'x', tz: 'Asia/Seoul' }, 'tz'],
    [{ job_id: 'x', reschedule_mode: 'queue' }, 'interval_seconds'],
    [{ job_id: 'x', interval_seconds: 60, reschedule_mode: 'fast' }, 'reschedule_mode'],
    [{ job_id: 'x', interval_seconds: 60, timeout_sec: 0 }, 'timeout_sec'],
    [{ job_id: 'x', interval_seconds: 60, max_attempts: 0 }, 'max_attempts'],
    [{ job_id: 'x', interval_seconds: 60, max_parallel: 0 }, 'max_parallel'],
    [{ job_id: 'x', default_params: 'start' }, 'default_params'],
    [{ job_id: 'x', queue: 'Real.Jobs.X' }, 'queue'],
    [{ job_id: 'x', intervall_seconds: 60 }, 'intervall_seconds'],
    [{ job_id: 'Bad Id' }, 'job_id'],
    [{ job_id: 'x', id: 'x' }, 'id'],
  ])('%j → ERR_INVALID_JOB naming `%s`', (body, field) => {
    const error = rejection(() => parseJobInput(body));
    expect(error.code).toBe('ERR_INVALID_JOB');
    expect(error.field).toBe(field);
    expect(error.message).toContain(`\`${field}\``);
  });
});

describe('parseJobInput: a JSON job spec', () => {
  it('accepts the keys of defineJob minus the params schema', () => {
    const input = parseJobInput({
      id: 'scan',
      scope: 'mock',
      schedule: { cron: '0 * * * *' },
      defaultParams: { a: 1 },
      retry: { maxAttempts: 2 },
      catchup: 'none',
    });
    expect(input).toMatchObject({
      id: 'scan',
      scope: 'mock',
      config: { queue: 'scan', params: { a: 1 }, retry: { maxAttempts: 2 }, catchup: { mode: 'none' } },
    });
  });

  it('rejects a params key, typos and non-objects', () => {
    expect(rejection(() => parseJobInput({ id: 'scan', params: {} }))).toMatchObject({ code: 'ERR_INVALID_JOB', field: 'params' });
    expect(rejection(() => parseJobInput({ id: 'scan', maxParalel: 2 }))).toMatchObject({ code: 'ERR_INVALID_JOB', field: 'maxParalel' });
    expect(rejection(() => parseJobInput([])).code).toBe('ERR_INVALID_JOB');
  });
});

describe('parseConfigPatch', () => {
  const current = resolveConfig(
    parseJobInput({ id: 'scan', schedule: { cron: '0 9 * * *', tz: 'Asia/Seoul' }, reschedule: 'queue' }).config,
    'UTC',
  );

  it('changes the period under either name', () => {
    expect(parseConfigPatch({ every: '2m' }, current)).toEqual({ schedule: { kind: 'every', everyMs: 120_000 } });
    expect(parseConfigPatch({ interval_seconds: 60 }, current)).toEqual({ schedule: { kind: 'every', everyMs: 60_000 } });
  });

  it('changes the cron, keeping the current tz unless one is given', () => {
    expect(parseConfigPatch({ cron_expr: '0 10 * * *' }, current)).toEqual({
      schedule: { kind: 'cron', cron: '0 10 * * *', tz: 'Asia/Seoul' },
    });
    expect(parseConfigPatch({ cron: '0 10 * * *', tz: 'Europe/Berlin' }, current)).toEqual({
      schedule: { kind: 'cron', cron: '0 10 * * *', tz: 'Europe/Berlin' },
    });
    expect(parseConfigPatch({ tz: 'Europe/Berlin' }, current)).toEqual({
      schedule: { kind: 'cron', cron: '0 9 * * *', tz: 'Europe/Berlin' },
    });
  });

  it('replaces params and patches the other settings', () => {
    expect(
      parseConfigPatch(
        {
          default_params: { action: 'stop' },
          enabled: false,
          description: null,
          max_parallel: 3,
          overlap: 'allowAll',
          timeout_sec: 30,
          staleAfter: null,
          max_attempts: 7,
          catchup: 'none',
        },
        current,
      ),
    ).toEqual({
      params: { action: 'stop' },
      enabled: false,
      description: null,
      maxParallel: 3,
      overlap: 'allowAll',
      timeoutMs: 30_000,
      stale: { kind: 'never' },
      retry: { maxAttempts: 7, backoff: current.retry.backoff },
      catchup: { mode: 'none', windowMs: 24 * 86_400_000, max: 100 },
    });
    expect(parseConfigPatch({ retry: { backoff: { type: 'fixed', delay: '2s' } } }, current)).toEqual({
      retry: { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 2000, maxMs: 2000, factor: 1, jitter: 0 } },
    });
    expect(parseConfigPatch({ params: {}, timeout: '1m', maxParallel: 1, staleAfter: '30s' }, current)).toEqual({
      params: {},
      timeoutMs: 60_000,
      maxParallel: 1,
      stale: { kind: 'fixed', ms: 30_000 },
    });
  });

  it.each([
    [{ every: 0 }, 'every'],
    [{ interval_seconds: -5 }, 'interval_seconds'],
    [{ cron_expr: '* *' }, 'cron_expr'],
    [{ tz: 'Atlantis/Capital' }, 'tz'],
    [{ every: '1m', cron: '* * * * *' }, 'cron'],
    [{ every: '1m', interval_seconds: 60 }, 'interval_seconds'],
    [{ every: '1m', tz: 'UTC' }, 'tz'],
    [{ schedule: null }, 'schedule'],
    [{ params: [1] }, 'params'],
    [{ enabled: 'no' }, 'enabled'],
    [{ maxParallel: 0 }, 'maxParallel'],
    [{ overlap: 'queue' }, 'overlap'],
    [{ timeout: 0 }, 'timeout'],
    [{ staleAfter: 'soon' }, 'staleAfter'],
    [{ retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    [{ catchup: 'sometimes' }, 'catchup'],
    [{ queue: 'other' }, 'queue'],
    [{ enabeld: true }, 'enabeld'],
  ])('%j → ERR_INVALID_ARGUMENT naming `%s`', (patch, field) => {
    const error = rejection(() => parseConfigPatch(patch, current));
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.field).toBe(field);
    expect(error.message).toContain(`\`${field}\``);
  });

  it('a tz patch needs a cron schedule', () => {
    const every = resolveConfig(parseJobInput({ id: 'e', schedule: { every: '1m' } }).config, 'UTC');
    expect(rejection(() => parseConfigPatch({ tz: 'UTC' }, every))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'tz' });
    expect(rejection(() => parseConfigPatch('enabled', every))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'patch' });
  });
});
