/** Runs the node:test file in its own process: the harness needs no vitest. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);

test('the harness works under node:test', async () => {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/testing/node/harness.node-test.ts'],
    {
      cwd: process.cwd(),
      timeout: 60_000,
    },
  );
  expect(stdout).toMatch(/# pass 2/);
  expect(stdout).toMatch(/# fail 0/);
});
