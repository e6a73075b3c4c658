/**
 * The `unit` project (vitest.config.ts) runs on a machine with no PostgreSQL, no RabbitMQ
 * and no build: none of its files may reach, through the test code it imports, a helper
 * that connects to a service (or the built package). A file that does belongs to
 * `integration`.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UNIT_FILES } from '../vitest.config.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Test-side modules and packages that need a service or the built package. */
const NEEDS_SERVICE = [
  /^test\/helpers\/(pg|pg-fixtures|pg-proxy|amqp|tcp-proxy|rabbit-node|built|liveness-process|fake-bot-api)\.ts$/,
  /^test\/(adapters|scheduler|worker)\/setup\.ts$/,
  /^test\/contract\/control-fixtures\.ts$/,
  /^test\/fleet\/helpers\.ts$/,
  /^test\/cli\/run-cli\.ts$/,
  /^package:(pg|amqplib|warren(\/.*)?|playwright-core)$/,
];

function testFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(path.join(root, rel)).isDirectory()) return testFiles(rel);
    return rel.endsWith('.test.ts') ? [rel] : [];
  });
}

/** The globs vitest.config.ts uses (`**`, `*`, `{a,b}`) as a regular expression. */
function globToRegExp(glob: string): RegExp {
  const source = glob
    .replace(/[.+^$()|[\]\\]/g, '\\$&')
    .replace(/\{([^}]*)\}/g, (_, alternatives: string) => `(${alternatives.split(',').join('|')})`)
    .replace(/\*\*\//g, '<<globstar>>')
    .replace(/\*/g, '[^/]*')
    .replace(/<<globstar>>/g, '(.*/)?');
  return new RegExp(`^${source}$`);
}

/** Every test-side module and package `file` reaches through its imports. */
function reached(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(path.join(root, file), 'utf8');
  for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
    if (!spec!.startsWith('.')) {
      seen.add(`package:${spec}`);
      continue;
    }
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec!)).replace(/\.js$/, '.ts');
    // src/ connects only when asked; the service check only probes (its test aims it at closed ports).
    if (target.startsWith('src/') || target === 'test/helpers/services.ts') continue;
    if (target.startsWith('examples/')) {
      seen.add(target);
      continue;
    }
    if (statSafe(target)) reached(target, seen);
  }
  return seen;
}

function statSafe(rel: string): boolean {
  try {
    return statSync(path.join(root, rel)).isFile();
  } catch {
    return false;
  }
}

describe('the unit project', () => {
  const patterns = UNIT_FILES.map(globToRegExp);
  const unit = testFiles('test').filter((file) => patterns.some((p) => p.test(file)));

  it('lists files that exist', () => {
    for (const glob of UNIT_FILES)
      expect(
        unit.some((file) => globToRegExp(glob).test(file)),
        glob,
      ).toBe(true);
  });

  it('reaches no service through its test code', () => {
    const offenders = unit.flatMap((file) =>
      [...reached(file)].filter((dep) => NEEDS_SERVICE.some((p) => p.test(dep))).map((dep) => `${file} -> ${dep}`),
    );
    expect(offenders).toEqual([]);
  });
});
