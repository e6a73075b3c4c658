/**
 * `warren upsert --file`: one job body or an array of them, as JSON (the seed's `POST /jobs`
 * bodies or JSON JobSpecs). Every body is checked before the first is written, so a file
 * with one bad body (or one for another scope) changes nothing.
 */
import { readFile } from 'node:fs/promises';
import { WarrenError } from '../errors.js';
import { parseJobInput } from '../define/job-input.js';
import { CliError } from './exit-codes.js';

export interface JobFile {
  bodies: unknown[];
  /** True when the file held an array (the answer mirrors the shape). */
  array: boolean;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJobFile(path: string, stdin: NodeJS.ReadableStream): Promise<JobFile> {
  let text: string;
  try {
    text = path === '-' ? await readAll(stdin) : await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError('ERR_USAGE', `Cannot read \`--file\` ${JSON.stringify(path)}: ${(error as Error).message}`, {
      field: 'file',
      cause: error,
    });
  }
  const name = path === '-' ? 'stdin' : path;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new WarrenError('ERR_INVALID_JOB', `Invalid \`--file\` ${name}: not JSON (${(error as Error).message})`, {
      field: 'file',
      cause: error,
    });
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0)
      throw new WarrenError('ERR_INVALID_JOB', `Invalid \`--file\` ${name}: an empty array, expected at least one job`, { field: 'file' });
    return { bodies: parsed, array: true };
  }
  if (parsed === null || typeof parsed !== 'object') {
    throw new WarrenError(
      'ERR_INVALID_JOB',
      `Invalid \`--file\` ${name}: expected a job object or an array of them, got ${JSON.stringify(parsed)}`,
      { field: 'file' },
    );
  }
  return { bodies: [parsed], array: false };
}

/**
 * Parses every body as the control API will (same rules, same messages), checks the scope
 * each names and refuses a job id given twice; throws before anything is written. Returns
 * the order to write them in: the bodies naming a scope first. Without `--scope` (the admin
 * API steers the scope of the service that mounts it) all of them must name one scope, so
 * when it is the wrong one the server refuses the first write and nothing is written.
 */
export function planUpserts(bodies: readonly unknown[], scope: string | undefined): number[] {
  const seen = new Map<string, number>();
  const scoped: number[] = [];
  const unscoped: number[] = [];
  let named: { scope: string; index: number } | undefined;
  bodies.forEach((body, index) => {
    const where = bodies.length > 1 ? `[${index}] ` : '';
    let input;
    try {
      input = parseJobInput(body);
    } catch (error) {
      if (error instanceof WarrenError && where !== '')
        throw new WarrenError(error.code, `${where}${error.message}`, {
          ...(error.field ? { field: error.field } : {}),
          details: { index },
          cause: error,
        });
      throw error;
    }
    if (input.scope !== undefined) {
      const expected = scope ?? named?.scope ?? input.scope;
      if (input.scope !== expected) {
        const steers =
          scope !== undefined
            ? `this command steers scope "${scope}"`
            : `[${named!.index}] names scope "${expected}" (one file, one scope)`;
        throw new WarrenError(
          'ERR_INVALID_ARGUMENT',
          `${where}Invalid \`scope\` of job "${input.id}": ${steers}, the job names scope "${input.scope}"`,
          {
            field: 'scope',
            details: { index, expected, got: input.scope },
          },
        );
      }
      named ??= { scope: input.scope, index };
      scoped.push(index);
    } else {
      unscoped.push(index);
    }
    const first = seen.get(input.id);
    if (first !== undefined)
      throw new WarrenError('ERR_INVALID_JOB', `${where}Job "${input.id}" is given twice (also at [${first}])`, {
        field: 'id',
        details: { index },
      });
    seen.set(input.id, index);
  });
  return [...scoped, ...unscoped];
}
