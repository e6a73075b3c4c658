import { describe, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/broker/amqp-transport.js';
import { parseAmqpTransportOptions } from '../../src/broker/amqp/options.js';
import { Backoff } from '../../src/util/backoff.js';
import { isWarrenError } from '../../src/errors.js';

function errorOf(fn: () => unknown): { code: string; field: string | undefined; message: string } | undefined {
  try {
    fn();
  } catch (err) {
    if (isWarrenError(err)) return { code: err.code, field: err.field, message: err.message };
    throw err;
  }
  return undefined;
}

describe('AmqpTransport options', () => {
  it('fills documented defaults', () => {
    expect(parseAmqpTransportOptions({ url: 'amqp://localhost' })).toEqual({
      url: 'amqp://localhost',
      urls: ['amqp://localhost'],
      scope: undefined,
      heartbeatSec: 30,
      maxBufferedPublishes: 10_000,
      publishTimeoutMs: 30_000,
      queueType: 'quorum',
      connectTimeoutMs: 10_000,
      reconnect: { minMs: 250, maxMs: 1_000 },
    });
  });

  it('takes a list of URLs (a cluster), each checked, none printed with its password', () => {
    const urls = ['amqp://u:p1@a:5672', 'amqp://u:p2@b:5673', 'amqps://u:p3@c'];
    expect(parseAmqpTransportOptions({ url: urls })).toMatchObject({ url: urls[0], urls });
    expect(errorOf(() => parseAmqpTransportOptions({ url: [] }))).toMatchObject({
      code: 'ERR_INVALID_OPTION',
      field: 'url',
      message: 'Invalid transport option `url`: expected an amqp:// or amqps:// URL, or a non-empty array of them, got []',
    });
    const bad = errorOf(() => parseAmqpTransportOptions({ url: ['amqp://u:secret@a', 'http://u:secret@b'] }));
    expect(bad).toMatchObject({ code: 'ERR_INVALID_OPTION', field: 'url' });
    expect(bad?.message).toContain('"amqp://u:***@a","http://u:***@b"');
    expect(bad?.message).not.toContain('secret');
    expect(errorOf(() => parseAmqpTransportOptions({ url: ['amqp://a', 5] as never }))).toMatchObject({ field: 'url' });
  });

  it('names the bad option, the rule and the value, without leaking a password', () => {
    expect(errorOf(() => parseAmqpTransportOptions({ url: 'http://x' }))).toMatchObject({ code: 'ERR_INVALID_OPTION', field: 'url' });
    const hb = errorOf(() => parseAmqpTransportOptions({ url: 'amqp://x', heartbeat: 5 }));
    expect(hb).toMatchObject({ field: 'heartbeat' });
    expect(hb?.message).toBe(
      'Invalid transport option `heartbeat`: expected a duration in whole seconds from 30s to 1h (such as "30s", or a number of seconds), got 5',
    );
    expect(errorOf(() => parseAmqpTransportOptions({ url: 'amqp://x', reconnect: { min: '10s', max: '5s' } }))).toMatchObject({
      field: 'reconnect.min',
    });
    expect(errorOf(() => parseAmqpTransportOptions({ url: 'amqp://x', connectTimeout: '10ms' }))).toMatchObject({
      field: 'connectTimeout',
    });
    expect(errorOf(() => parseAmqpTransportOptions({ url: 'amqp://x', queueType: 'lazy' as 'quorum' }))).toMatchObject({
      field: 'queueType',
    });
    expect(errorOf(() => parseAmqpTransportOptions({ url: 'amqp://x', scope: 'Bad Scope' }))).toMatchObject({ field: 'scope' });
    expect(errorOf(() => parseAmqpTransportOptions({ url: 'amqp://x', bogus: 1 } as never))).toMatchObject({ field: 'bogus' });
    expect(errorOf(() => parseAmqpTransportOptions({ url: 'amqp://x', publishTimeout: '10ms' }))?.message).toBe(
      'Invalid transport option `publishTimeout`: expected a duration >= 100ms (such as "30s", or a number of seconds), got "10ms"',
    );
    expect(errorOf(() => parseAmqpTransportOptions({ url: 'amqp://x', publishTimeout: 'soon' }))).toMatchObject({
      code: 'ERR_INVALID_OPTION',
      field: 'publishTimeout',
    });
    // One duration rule: a number is seconds.
    expect(parseAmqpTransportOptions({ url: 'amqp://x', publishTimeout: 5 }).publishTimeoutMs).toBe(5_000);
    expect(
      parseAmqpTransportOptions({ url: 'amqp://x', heartbeat: 60, connectTimeout: 2, reconnect: { min: 0.5, max: '1m' } }),
    ).toMatchObject({ heartbeatSec: 60, connectTimeoutMs: 2_000, reconnect: { minMs: 500, maxMs: 60_000 } });
    const bad = errorOf(() => parseAmqpTransportOptions({ url: 'amqp://u:secret@h', heartbeat: 1 }));
    expect(bad?.message).not.toContain('secret');
    expect(() => new AmqpTransport({ url: 'nope' })).toThrow(/`url`/);
  });

  it('backs off exponentially up to max, each delay randomised down by up to half', () => {
    const high = new Backoff({ delayMs: 100, maxMs: 1000 }, () => 0);
    expect([1, 2, 3, 4, 5, 6].map(() => high.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(high.failures).toBe(6);
    high.reset();
    expect(high.next()).toBe(100);
    const low = new Backoff({ delayMs: 100, maxMs: 1000 }, () => 1);
    expect([1, 2, 3, 4, 5].map(() => low.next())).toEqual([50, 100, 200, 400, 500]);
  });
});
