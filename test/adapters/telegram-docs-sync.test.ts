/** docs/adapters.md "Running the bot" shows examples/telegram-bot.ts (type-checked) verbatim. */
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';

it('the bot example in docs/adapters.md is examples/telegram-bot.ts', async () => {
  const doc = await readFile('docs/adapters.md', 'utf8');
  const example = await readFile('examples/telegram-bot.ts', 'utf8');
  const body = example.split('// --- docs ---\n')[1]?.split('// --- /docs ---')[0];
  expect(body, 'markers in examples/telegram-bot.ts').toBeTruthy();
  const block = /<!-- examples\/telegram-bot\.ts -->\n```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  const imports =
    "import pg from 'pg';\nimport { createScheduler } from 'warren';\nimport { createTelegramBot } from 'warren/telegram';\n\n";
  expect(block).toBe(imports + body);
});
