/** docs/testing.md shows test/testing/docs-example.test.ts verbatim (with the package's import names). */
import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';

test('the example in docs/testing.md is the docs-example test', async () => {
  const doc = await readFile('docs/testing.md', 'utf8');
  const block = /<!-- docs-example\.test\.ts -->\n```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  const file = await readFile('test/testing/docs-example.test.ts', 'utf8');
  const asPublished = file.replace("'../../src/index.js'", "'warren'").replace("'../../src/testing/index.js'", "'warren/testing'");
  expect(block).toBe(asPublished);
});
