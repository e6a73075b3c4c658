import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../src/util/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['2w', 1_209_600_000],
    ['1.5s', 1_500],
    [' 10S ', 10_000],
    ['90', 90_000],
    [300, 300_000],
    [0.25, 250],
    [0, 0],
  ] as const)('%j → %d ms', (value, ms) => {
    expect(parseDuration(value, 'timeout')).toBe(ms);
  });

  it.each([['', 'abc', '5 minutes', '5x', '-5s', 's5', '1h 30m']].flat())('rejects %j naming the field', (value) => {
    expect(() => parseDuration(value, 'retry.backoff.delay', 'ERR_INVALID_JOB')).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_JOB',
        field: 'retry.backoff.delay',
        message: expect.stringContaining('`retry.backoff.delay`'),
      }),
    );
  });

  it('rejects negative, non-finite and non-duration values with the default code', () => {
    for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, {}, [5]]) {
      expect(() => parseDuration(value, 'leaseTtl')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'leaseTtl' }));
    }
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [250, '250ms'],
    [1_000, '1s'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [86_400_000 + 1_500, '1d1s500ms'],
  ])('%d → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1_000, 61_000, 3_601_000, 93_784_005]) expect(parseDuration(formatDuration(ms), 'x')).toBe(ms);
  });
});
