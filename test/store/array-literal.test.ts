/**
 * The Postgres array literals PgStore builds for its run updates (src/store/pg/array-literal.ts),
 * as text; pg-array-literal.test.ts sends the same values through the real PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { numberArray, textArray, uuidArray } from '../../src/store/pg/array-literal.js';

describe('textArray', () => {
  it('quotes every element, so empty, NULL-looking, blank and delimiter-laden text stays text', () => {
    expect(textArray(['a', '', 'NULL', 'null', ' padded ', 'a,b', '{b}', '\t', 'x y'])).toBe(
      '{"a","","NULL","null"," padded ","a,b","{b}","\t","x y"}',
    );
  });

  it('escapes backslashes and double quotes, and only those', () => {
    expect(textArray(['say "hi"', 'C:\\dir\\', '\\"', "it's"])).toBe(String.raw`{"say \"hi\"","C:\\dir\\","\\\"","it's"}`);
  });

  it('writes null as the bare NULL', () => {
    expect(textArray([null, 'NULL', null])).toBe('{NULL,"NULL",NULL}');
  });

  it('keeps newlines and unicode as they are', () => {
    expect(textArray(['line 1\nline 2\r\n', 'ünïcødé €', '😀', '\u2028'])).toBe('{"line 1\nline 2\r\n","ünïcødé €","😀","\u2028"}');
  });

  it('carries JSON text (the attempt history) with its quotes escaped', () => {
    expect(textArray([JSON.stringify([{ error: 'a "b" \\ c' }]), '[]'])).toBe(String.raw`{"[{\"error\":\"a \\\"b\\\" \\\\ c\"}]","[]"}`);
  });

  it('an empty list is {}', () => {
    expect(textArray([])).toBe('{}');
  });
});

describe('numberArray', () => {
  it('writes numbers bare, null as NULL', () => {
    expect(numberArray([1, -2, 0.5, null, 1772323200123, 2147483647])).toBe('{1,-2,0.5,NULL,1772323200123,2147483647}');
  });

  it('writes exponents, NaN and infinities as float8 reads them', () => {
    expect(numberArray([1e21, 5e-7, Number.MAX_VALUE, NaN, Infinity, -Infinity])).toBe(
      '{1e+21,5e-7,1.7976931348623157e+308,NaN,Infinity,-Infinity}',
    );
  });

  it('an empty list is {}', () => {
    expect(numberArray([])).toBe('{}');
  });
});

describe('uuidArray', () => {
  it('writes uuids bare', () => {
    expect(uuidArray(['0f8e2b7c-1a2b-4c3d-8e9f-0a1b2c3d4e5f', 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE'])).toBe(
      '{0f8e2b7c-1a2b-4c3d-8e9f-0a1b2c3d4e5f,AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE}',
    );
    expect(uuidArray([])).toBe('{}');
  });

  it('refuses anything a bare element could break the literal with', () => {
    for (const bad of ['', 'NULL', 'a,b', '{0f8e2b7c-1a2b-4c3d-8e9f-0a1b2c3d4e5f}', '0f8e2b7c-1a2b-4c3d-8e9f-0a1b2c3d4e5f,x']) {
      expect(() => uuidArray([bad]), bad).toThrow(TypeError);
    }
  });
});
