/**
 * The array literals PgStore builds (src/store/pg/array-literal.ts) read back by the real
 * PostgreSQL as the values they were built from, cast as the run update casts them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numberArray, textArray, uuidArray } from '../../src/store/pg/array-literal.js';
import { randomUUID } from '../../src/util/uuid.js';
import { type TestDatabase, createTestDatabase } from '../helpers/pg.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('pg_array_literal');
});

afterAll(async () => {
  await db.drop();
});

/** `literal` cast to `type`, as node-postgres returns it. */
async function readBack(literal: string, type: string): Promise<unknown> {
  const { rows } = await db.pool.query(`SELECT $1::${type} AS a`, [literal]);
  return rows[0].a;
}

/** Text that is hard to carry in an array literal. */
const AWKWARD = [
  '',
  'NULL',
  'null',
  ' ',
  ' padded ',
  '\t',
  'a,b',
  '{b}',
  '{',
  '}',
  '"',
  '""',
  '\\',
  '\\\\',
  '\\"',
  'say "hi", {ok}\\n',
  'line 1\nline 2\r\n',
  'ünïcødé €',
  '😀 👍🏽',
  '\u2028\u00a0',
  "it's",
];

/** Random strings over the characters an array literal treats specially (a fixed seed: the same cases every run). */
function randomAwkward(count: number): string[] {
  const alphabet = ['a', ' ', ',', '{', '}', '"', '\\', '\n', 'N', 'U', 'L', 'é', '😀', "'", '\t'];
  let seed = 42;
  const next = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) >>> 16;
  return Array.from({ length: count }, () => Array.from({ length: next() % 12 }, () => alphabet[next() % alphabet.length]).join(''));
}

describe('array literals through PostgreSQL', () => {
  it('text[]: awkward text, NULL and the text "NULL" come back as they went', async () => {
    const values = [...AWKWARD, null, 'NULL', null];
    expect(await readBack(textArray(values), 'text[]')).toEqual(values);
  });

  it('text[]: random strings of special characters come back as they went', async () => {
    const values = randomAwkward(300);
    expect(await readBack(textArray(values), 'text[]')).toEqual(values);
  });

  it('text[] cast to jsonb element by element: JSON with quotes, backslashes and unicode parses as it was', async () => {
    const documents = [
      [{ attempt: 1, error: 'a "quoted" \\ error, {braced}\nnext line', workerId: 'wörker 😀', retryAt: null }],
      [],
      { nested: { list: [1, 'NULL', null, ''] } },
      null,
    ];
    const { rows } = await db.pool.query(`SELECT u::jsonb AS j FROM unnest($1::text[]) WITH ORDINALITY AS t(u, n) ORDER BY n`, [
      textArray(documents.map((d) => (d === null ? null : JSON.stringify(d)))),
    ]);
    expect(rows.map((r) => r.j)).toEqual(documents);
  });

  it('uuid[]: ids come back as they went', async () => {
    const ids = Array.from({ length: 50 }, () => randomUUID());
    expect(await readBack(uuidArray(ids), 'uuid[]')).toEqual(ids);
  });

  it('float8[]: epoch milliseconds, fractions, extremes, NaN, infinities and NULL come back as they went', async () => {
    const values = [1772323200123, 0, -1, 0.1, 1 / 3, 5e-7, 1e21, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity, null];
    expect(await readBack(numberArray(values), 'float8[]')).toEqual(values);
  });

  it('float8[] of epoch milliseconds through to_timestamp: the same instants, to the millisecond', async () => {
    const instants = [Date.UTC(2026, 2, 1, 0, 0, 0, 1), Date.UTC(2026, 2, 1, 23, 59, 59, 999), 1772323200123, 0, -1];
    const { rows } = await db.pool.query(
      `SELECT to_timestamp(u / 1000) AS at FROM unnest($1::float8[]) WITH ORDINALITY AS t(u, n) ORDER BY n`,
      [numberArray(instants)],
    );
    expect(rows.map((r) => (r.at as Date).getTime())).toEqual(instants);
  });

  it('integer[]: the int4 range and NULL come back as they went', async () => {
    const values = [0, 1, -1, 2147483647, -2147483648, null];
    expect(await readBack(numberArray(values), 'integer[]')).toEqual(values);
  });

  it('empty arrays of every type', async () => {
    for (const type of ['text[]', 'float8[]', 'integer[]']) expect(await readBack(numberArray([]), type), type).toEqual([]);
    expect(await readBack(textArray([]), 'text[]')).toEqual([]);
    expect(await readBack(uuidArray([]), 'uuid[]')).toEqual([]);
  });
});
