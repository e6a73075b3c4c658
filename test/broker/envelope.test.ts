/**
 * decodeMessage's fast check (isJobMessageAsIs) against jobMessageSchema: a table of valid
 * and invalid messages, field by field, and seeded random mutations of valid messages. The
 * fast check must accept exactly what the schema accepts (save a `params` with its own
 * `__proto__` key, left to the schema), with the schema's output, and decodeMessage must
 * answer what the schema alone answered before it: the same message, the same reason.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeMessage, isJobMessageAsIs, jobMessageSchema, type JobMessage } from '../../src/broker/envelope.js';
import { tryParseOptions } from '../../src/util/options.js';

const UUID = '0b6c9a3e-5f1d-4c2a-9e7b-3d8f1a2b4c5d';
const AT = '2026-03-01T09:00:00';
const emoji = '\u{1F600}'; // two UTF-16 units, one code point

const VALID: JobMessage = {
  v: 1,
  job_id: 'price-monitor',
  scope: 'real',
  run_id: UUID,
  attempt: 1,
  trigger_source: 'scheduler',
  params: { action: 'start', interval_seconds: 86400 },
  scheduled_for: '2026-03-01T09:00:00.000Z',
  stale_at: '2026-03-01T09:04:00.000Z',
  epoch: 3,
  next_delay_sec: null,
  timeout_sec: 30,
  max_attempts: 3,
};

const TRIGGER_SOURCES = ['scheduler', 'manual', 'retry', 'startup', 'catchup', 'backfill', 'chain'];

/** An object with its own enumerable `__proto__` key, as JSON.parse makes one. */
function withOwnProto(value: unknown, rest: Record<string, unknown> = {}): Record<string, unknown> {
  const o: Record<string, unknown> = { ...rest };
  Object.defineProperty(o, '__proto__', { value, enumerable: true, writable: true, configurable: true });
  return o;
}

/** zod's object takes any object but an array, a class instance too; its record only a plain one. */
class Box {
  a = 1;
}
class Carrier {}

/** What decodeMessage answered before the fast check: the schema alone, its first issue as the reason. */
function bySchema(value: unknown): { ok: true; message: JobMessage } | { ok: false; reason: string } {
  const parsed = tryParseOptions(jobMessageSchema, value, { code: 'ERR_INVALID_MESSAGE', label: 'message field' });
  return parsed.ok ? { ok: true, message: parsed.value } : { ok: false, reason: parsed.error.message.replace(/^Invalid/, 'invalid') };
}

function ownProtoParams(value: unknown): boolean {
  const params = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).params : undefined;
  return typeof params === 'object' && params !== null && Object.hasOwn(params, '__proto__');
}

/**
 * The fast check agrees with the schema on `value` (as a JS value), and decodeMessage of its
 * JSON text answers what the schema alone answers for that text. Returns the schema's verdict.
 */
function expectAgreement(value: unknown): boolean {
  const zod = jobMessageSchema.safeParse(value);
  const fast = isJobMessageAsIs(value);
  expect(fast, 'the fast check accepts what the schema accepts').toBe(zod.success && !ownProtoParams(value));
  if (fast) expect(value).toEqual(zod.data);
  const text = JSON.stringify(value);
  if (text !== undefined) expect(decodeMessage(Buffer.from(text))).toEqual(bySchema(JSON.parse(text)));
  return zod.success;
}

/** VALID with `key` set to `value`, or removed when `value` is `REMOVE`. */
const REMOVE = Symbol('remove');
function withField(key: string, value: unknown): Record<string, unknown> {
  const message: Record<string, unknown> = { ...VALID };
  if (value === REMOVE) delete message[key];
  else message[key] = value;
  return message;
}

type Case = [name: string, value: unknown, accepted: boolean];

const FIELD_CASES: Record<keyof JobMessage, Case[]> = {
  v: [
    ['1', 1, true],
    ['2', 2, false],
    ['0', 0, false],
    ['"1"', '1', false],
    ['true', true, false],
    ['null', null, false],
  ],
  job_id: [
    ['one character', 'a', true],
    ['100 characters', 'x'.repeat(100), true],
    ['101 characters', 'x'.repeat(101), false],
    ['99 + an emoji (101 UTF-16 units, 100 code points)', 'x'.repeat(99) + emoji, true],
    ['100 emoji (200 units, 100 code points)', emoji.repeat(100), true],
    ['101 emoji', emoji.repeat(101), false],
    ['101 lone high surrogates', '\uD83D'.repeat(101), false],
    ['empty', '', false],
    ['a number', 5, false],
    ['null', null, false],
  ],
  scope: [
    ['40 characters', 's'.repeat(40), true],
    ['41 characters', 's'.repeat(41), false],
    ['40 emoji', emoji.repeat(40), true],
    ['empty', '', false],
    ['an array', ['real'], false],
  ],
  run_id: [
    ['uppercase', UUID.toUpperCase(), true],
    ['nil', '00000000-0000-0000-0000-000000000000', true],
    ['max', 'ffffffff-ffff-ffff-ffff-ffffffffffff', true],
    ['max, uppercase', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', false],
    ['version 7', '01890a5d-ac96-774b-bcce-b302099a8057', true],
    ['version 0 (not nil)', '0b6c9a3e-5f1d-0c2a-9e7b-3d8f1a2b4c5d', false],
    ['version 9', '0b6c9a3e-5f1d-9c2a-9e7b-3d8f1a2b4c5d', false],
    ['variant c', '0b6c9a3e-5f1d-4c2a-ce7b-3d8f1a2b4c5d', false],
    ['variant B', '0b6c9a3e-5f1d-4c2a-Be7b-3d8f1a2b4c5d', true],
    ['without hyphens', UUID.replaceAll('-', ''), false],
    ['in braces', `{${UUID}}`, false],
    ['with a trailing newline', `${UUID}\n`, false],
    ['one digit short', UUID.slice(1), false],
    ['not a uuid', 'not-a-uuid', false],
    ['a number', 42, false],
  ],
  attempt: [
    ['1', 1, true],
    ['2^53 - 1', 2 ** 53 - 1, true],
    ['2^53', 2 ** 53, false],
    ['0', 0, false],
    ['-0', -0, false],
    ['1.5', 1.5, false],
    ['"1"', '1', false],
    ['NaN', NaN, false],
    ['Infinity', Infinity, false],
  ],
  trigger_source: [
    ...TRIGGER_SOURCES.map((s): Case => [s, s, true]),
    ['Scheduler', 'Scheduler', false],
    ['cron', 'cron', false],
    ['empty', '', false],
    ['null', null, false],
  ],
  params: [
    ['empty', {}, true],
    ['nested', { a: { b: [1, null] }, c: 'd' }, true],
    ['a "constructor" key', { constructor: 1 }, true],
    ['a null-prototype object', Object.create(null), true],
    ['an own __proto__ key (the schema drops it)', withOwnProto({ polluted: true }, { a: 1 }), true],
    ['an array', [1, 2], false],
    ['an empty array', [], false],
    ['null', null, false],
    ['a string', '{}', false],
    ['a Date', new Date(0), false],
    ['a Map', new Map(), false],
    ['a class instance', new Box(), false],
  ],
  scheduled_for: [
    ['Z, milliseconds', `${AT}.000Z`, true],
    ['Z, whole seconds', `${AT}Z`, true],
    ['Z, nine fractional digits', `${AT}.123456789Z`, true],
    ['+02:00', `${AT}+02:00`, true],
    ['-05:30, fractional seconds', `${AT}.5-05:30`, true],
    ['+23:59', `${AT}+23:59`, true],
    ['+24:00', `${AT}+24:00`, false],
    ['+0200', `${AT}+0200`, false],
    ['+02', `${AT}+02`, false],
    ['no offset', AT, false],
    ['no seconds', '2026-03-01T09:00Z', false],
    ['a dot without digits', `${AT}.Z`, false],
    ['lowercase z', `${AT}z`, false],
    ['a space for T', '2026-03-01 09:00:00Z', false],
    ['a date only', '2026-03-01', false],
    ['29 February of a leap year', '2028-02-29T00:00:00Z', true],
    ['29 February of another year', '2026-02-29T00:00:00Z', false],
    ['month 13', '2026-13-01T00:00:00Z', false],
    ['hour 24', '2026-03-01T24:00:00Z', false],
    ['second 60', '2026-03-01T09:00:60Z', false],
    ['epoch milliseconds', 1772355600000, false],
    ['null', null, false],
  ],
  stale_at: [
    ['null', null, true],
    ['+01:00', `${AT}+01:00`, true],
    ['no offset', AT, false],
    ['empty', '', false],
  ],
  epoch: [
    ['0', 0, true],
    ['-0', -0, true],
    ['2^53 - 1', 2 ** 53 - 1, true],
    ['2^53', 2 ** 53, false],
    ['-1', -1, false],
    ['0.5', 0.5, false],
    ['"0"', '0', false],
    ['null', null, false],
  ],
  next_delay_sec: [
    ['null', null, true],
    ['0', 0, true],
    ['-0', -0, true],
    ['0.25', 0.25, true],
    ['1e308', 1e308, true],
    ['-0.001', -0.001, false],
    ['"60"', '60', false],
    ['Infinity', Infinity, false],
    ['NaN', NaN, false],
  ],
  timeout_sec: [
    ['0.001', 0.001, true],
    ['1e308', 1e308, true],
    ['5e-324', 5e-324, true],
    ['0', 0, false],
    ['-0', -0, false],
    ['-1', -1, false],
    ['null', null, false],
    ['Infinity', Infinity, false],
  ],
  max_attempts: [
    ['1', 1, true],
    ['0', 0, false],
    ['2.5', 2.5, false],
    ['2^53', 2 ** 53, false],
    ['-Infinity', -Infinity, false],
  ],
};

const TABLE: Case[] = [
  ['the valid message', VALID, true],
  ...Object.entries(FIELD_CASES).flatMap(([key, cases]) => [
    ...cases.map(([name, value, accepted]): Case => [`${key}: ${name}`, withField(key, value), accepted]),
    [`${key}: missing`, withField(key, REMOVE), false] as Case,
    [`${key}: undefined`, withField(key, undefined), false] as Case,
  ]),
  ['an extra key', { ...VALID, extra: 1 }, false],
  ['an extra key, undefined', { ...VALID, extra: undefined }, false],
  ['an own __proto__ key', withOwnProto({}, VALID), false],
  ['a class instance carrying the fields', Object.assign(new Carrier(), VALID), true],
  ['a null-prototype object carrying the fields', Object.assign(Object.create(null), VALID), true],
  ['null', null, false],
  ['an array', [VALID], false],
  ['a string', JSON.stringify(VALID), false],
];

describe('isJobMessageAsIs against jobMessageSchema', () => {
  it.each(TABLE)('%s: accepted = %s', (_name, value, accepted) => {
    expect(expectAgreement(value)).toBe(accepted);
  });
});

/** mulberry32: a small seeded PRNG, so every run makes the same mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Odd values: every value of the table, a few more, and the valid values of each field (to land in another). */
const POOL: unknown[] = [
  ...Object.values(FIELD_CASES).flatMap((cases) => cases.map(([, value]) => value)),
  ...Object.values(VALID),
  undefined,
  false,
  -1,
  -(2 ** 53),
  1e21,
  -1e-300,
  ' ',
  '1',
  'x'.repeat(40),
  'x'.repeat(41),
  [],
  [VALID],
  { ...VALID },
  withOwnProto(1),
  Object.create(null),
];

const EXTRA_KEYS = ['extra', 'V', 'Job_id', '__proto__', 'constructor', 'toString', ''];

describe('isJobMessageAsIs against jobMessageSchema, mutated', () => {
  it('agrees on 10,000 seeded one-field mutations of random valid messages', () => {
    const rand = prng(0x5eed);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)]!;
    const hexDigits = [...'0123456789abcdefABCDEF'];
    const hex = (n: number) => Array.from({ length: n }, () => pick(hexDigits)).join('');
    const keys = Object.keys(VALID);
    const randomValid = (): Record<string, unknown> => ({
      ...VALID,
      job_id: `job-${hex(1 + Math.floor(rand() * 20))}`,
      run_id: `${hex(8)}-${hex(4)}-${pick([...'12345678'])}${hex(3)}-${pick([...'89abAB'])}${hex(3)}-${hex(12)}`,
      attempt: 1 + Math.floor(rand() * 5),
      trigger_source: pick(TRIGGER_SOURCES),
      params: rand() < 0.5 ? {} : { n: rand(), tags: ['a', 'b'] },
      scheduled_for: new Date(Math.floor(rand() * 4e12)).toISOString(),
      stale_at: rand() < 0.5 ? null : new Date(Math.floor(rand() * 4e12)).toISOString(),
      epoch: Math.floor(rand() * 10),
      next_delay_sec: rand() < 0.5 ? null : rand() * 3600,
      timeout_sec: 0.001 + rand() * 600,
      max_attempts: 1 + Math.floor(rand() * 5),
    });
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      const message = randomValid();
      expect(expectAgreement(message)).toBe(true);
      const roll = rand();
      if (roll < 0.7) message[pick(keys)] = pick(POOL);
      else if (roll < 0.8) delete message[pick(keys)];
      else if (roll < 0.9) Object.defineProperty(message, pick(EXTRA_KEYS), { value: pick(POOL), enumerable: true, writable: true });
      else message.params = withOwnProto(pick(POOL), { a: 1 });
      if (expectAgreement(message)) accepted++;
    }
    // Both verdicts occur often: the mutations probe the boundary, not one side of it.
    expect(accepted).toBeGreaterThan(1_000);
    expect(accepted).toBeLessThan(9_000);
  });
});

describe('decodeMessage', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('decodes a valid message without the schema, and refuses through it', () => {
    const safeParse = vi.spyOn(jobMessageSchema, 'safeParse');
    expect(decodeMessage(Buffer.from(JSON.stringify(VALID)))).toEqual({ ok: true, message: VALID });
    expect(safeParse).not.toHaveBeenCalled();
    expect(decodeMessage(Buffer.from(JSON.stringify({ ...VALID, attempt: 0 }))).ok).toBe(false);
    expect(safeParse).toHaveBeenCalledTimes(1);
  });

  it('gives the dead-letter reasons it gave before the fast check', () => {
    const reason = (value: unknown) => {
      const decoded = decodeMessage(Buffer.from(JSON.stringify(value)));
      return decoded.ok ? 'accepted' : decoded.reason;
    };
    expect(reason({ ...VALID, attempt: 'one' })).toBe('invalid message field `attempt`: expected a number, got "one"');
    expect(reason({ ...VALID, run_id: 'not-a-uuid' })).toBe('invalid message field `run_id`: expected Invalid UUID, got "not-a-uuid"');
    expect(reason({ ...VALID, v: 2 })).toBe('invalid message field `v`: expected 1, got 2');
    expect(reason({ ...VALID, extra: 1 })).toBe('invalid message field `extra`: unknown option');
    expect(reason({ ...VALID, attempt: 1.5 })).toBe('invalid message field `attempt`: expected an int, got 1.5');
    expect(reason({ ...VALID, scheduled_for: AT })).toBe(
      'invalid message field `scheduled_for`: expected Invalid ISO datetime, got "2026-03-01T09:00:00"',
    );
    expect(reason(withField('scope', REMOVE))).toBe('invalid message field `scope`: expected a string, got nothing');
  });

  it('gives a params with its own __proto__ key as the schema does, without that key', () => {
    const body = Buffer.from(JSON.stringify({ ...VALID, params: {} }).replace('"params":{}', '"params":{"__proto__":{"x":1},"a":1}'));
    const decoded = decodeMessage(body);
    expect(decoded).toEqual({ ok: true, message: { ...VALID, params: { a: 1 } } });
    expect(decoded.ok && Object.hasOwn(decoded.message.params, '__proto__')).toBe(false);
  });
});
