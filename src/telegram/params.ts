/**
 * The params of `/job run <id> …`: a JSON object, or `key=value` pairs (easier to type on
 * a phone). A value that reads as JSON (`2`, `true`, `null`, `"two words"`, `[1,2]`) is
 * taken as such; anything else is the string as typed.
 */

export type ParsedParams = { ok: true; params: Record<string, unknown> | undefined } | { ok: false; problem: string };

/** iOS and macOS keyboards turn quotes into curly ones: accept them in params. */
const straightQuotes = (text: string): string =>
  text.replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"').replace(/[\u2018\u2019\u201A\u201B\u2032]/g, "'");

// key=value, where value is a double-quoted JSON string (spaces allowed) or runs to the next space.
const PAIR = /([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\S*)(?:\s+|$)/y;

function valueOf(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function parseRunParams(input: string): ParsedParams {
  const text = straightQuotes(input).trim();
  if (text === '') return { ok: true, params: undefined };
  if (text.startsWith('{') || text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return { ok: false, problem: `the params are not valid JSON (${(error as Error).message})` };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return { ok: false, problem: 'the params must be a JSON object, like {"key":"value"}' };
    return { ok: true, params: parsed as Record<string, unknown> };
  }
  const params: Record<string, unknown> = {};
  PAIR.lastIndex = 0;
  while (PAIR.lastIndex < text.length) {
    const at = PAIR.lastIndex;
    const match = PAIR.exec(text);
    if (match === null) {
      const word = /^\S+/.exec(text.slice(at))?.[0] ?? '';
      return { ok: false, problem: `"${word}" is not key=value (params are key=value pairs or one JSON object)` };
    }
    params[match[1]!] = valueOf(match[2]!);
  }
  return { ok: true, params };
}
