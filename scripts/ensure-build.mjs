// The examples import warren by its package name, which Node and TypeScript resolve through
// package.json `exports` to dist/ (a package may import itself by name). `npm run demo` and
// `npm run fleet` call this first: it builds when dist/ is missing or older than the sources,
// so they work right after `npm ci` and never run a stale build. With `--check` it only
// reports a stale build (exit 1): the fleet tests run the built package and say so.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Every file the `exports` map points at (its ESM side: what the examples load). */
function exportedFiles(node) {
  if (typeof node === 'string') return node.startsWith('./dist/') ? [node] : [];
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => (key === 'require' ? [] : exportedFiles(value)));
}

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : (mtime(path) ?? 0));
  }
  return latest;
}

const built = exportedFiles(pkg.exports).map((file) => mtime(join(root, file)));
const sources = Math.max(newest(join(root, 'src')), newest(join(root, 'sql')), mtime(join(root, 'tsup.config.ts')) ?? 0);
const stale = built.some((at) => at === undefined || at < sources);

if (stale && process.argv.includes('--check')) {
  process.stderr.write(
    'dist/ is missing or older than src/: run `npm run build` first (the examples import warren by its package name, which resolves to dist/).\n',
  );
  process.exit(1);
}
if (stale) {
  process.stderr.write('Building warren first (dist/ is missing or older than src/): the examples import it by its package name...\n');
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout}${result.stderr}\nnpm run build failed (exit ${result.status ?? result.signal}).\n`);
    process.exit(1);
  }
}
