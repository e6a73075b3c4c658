import { afterEach } from 'vitest';
import { createTestHarness, type TestHarness } from '../../src/testing/harness.js';

/** For a test file: starts harnesses, each closed after its test. */
export function harnessStarter(): (options: Parameters<typeof createTestHarness>[0]) => Promise<TestHarness> {
  const open: TestHarness[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });
  return async (options) => {
    const h = createTestHarness(options);
    open.push(h);
    await h.start();
    return h;
  };
}
