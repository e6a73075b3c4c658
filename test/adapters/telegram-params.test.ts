/** The params of `/job run <id> …`: one JSON object, or key=value pairs. */
import { describe, expect, it } from 'vitest';
import { parseRunParams } from '../../src/telegram/params.js';

describe('parseRunParams', () => {
  it('reads nothing as no params, and a JSON object as itself', () => {
    expect(parseRunParams('  ')).toEqual({ ok: true, params: undefined });
    expect(parseRunParams('{“mode”: “swing”, "n": [1, 2]}')).toEqual({ ok: true, params: { mode: 'swing', n: [1, 2] } });
  });

  it('reads key=value pairs, JSON-looking values as JSON and the rest as typed', () => {
    expect(parseRunParams('mode=swing n=2 dry=false at=null ids=[1,2] empty= zip=007')).toEqual({
      ok: true,
      params: { mode: 'swing', n: 2, dry: false, at: null, ids: [1, 2], empty: '', zip: '007' },
    });
    expect(parseRunParams('note="two words, \\"quoted\\"" n="2" who=“bob smith”')).toEqual({
      ok: true,
      params: { note: 'two words, "quoted"', n: '2', who: 'bob smith' },
    });
  });

  it('names what it cannot read', () => {
    expect(parseRunParams('mode=swing oops')).toEqual({
      ok: false,
      problem: '"oops" is not key=value (params are key=value pairs or one JSON object)',
    });
    expect(parseRunParams('{"a": ')).toMatchObject({ ok: false, problem: expect.stringMatching(/^the params are not valid JSON \(/) });
    expect(parseRunParams('[1]')).toEqual({ ok: false, problem: 'the params must be a JSON object, like {"key":"value"}' });
  });
});
