/**
 * Tests that run the examples as processes use the BUILT package: the examples import
 * warren by its package name, which resolves to dist/. CI builds before testing; locally a
 * stale dist/ fails here with what to do, instead of testing old code.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export async function assertBuilt(): Promise<void> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  await promisify(execFile)(process.execPath, ['scripts/ensure-build.mjs', '--check'], { cwd: root });
}
