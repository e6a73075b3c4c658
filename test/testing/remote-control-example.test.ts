/**
 * examples/remote-control.ts is written against `Control`, so the same function that steers
 * a fleet through the admin client runs on the test harness; docs/control-api.md shows it verbatim.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { defineJob } from '../../src/index.js';
import { createTestHarness } from '../../src/testing/index.js';
import { quarantineFailing } from '../../examples/remote-control.js';

test('docs/control-api.md shows examples/remote-control.ts verbatim', async () => {
  const doc = await readFile('docs/control-api.md', 'utf8');
  const block = /<!-- examples\/remote-control\.ts -->\n```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  const file = await readFile('examples/remote-control.ts', 'utf8');
  const body = file.split('// --- docs ---\n')[1]?.split('// --- /docs ---')[0];
  expect(body, 'markers in examples/remote-control.ts').toBeTruthy();
  expect(block).toBe(body!.replace("'../src/http/index.js'", "'warren/http'"));
});

test('quarantineFailing pauses the job that keeps failing, on the harness as on a fleet', async () => {
  const flaky = defineJob({ id: 'flaky', schedule: { every: '1m' }, retry: { maxAttempts: 1 } });
  const steady = defineJob({ id: 'steady', schedule: { every: '1m' } });
  const h = createTestHarness({
    jobs: [flaky, steady],
    handlers: {
      flaky: () => {
        throw new Error('upstream 503');
      },
    },
  });
  await h.start();
  try {
    await h.advance('4m');
    expect(await quarantineFailing(h)).toEqual(['flaky']);
    expect(await h.get('flaky')).toMatchObject({
      paused: true,
      pauseNote: expect.stringMatching(/^4 of the last 20 runs failed; last error: .*upstream 503/),
    });
    expect(await h.get('steady')).toMatchObject({ paused: false });
    expect((await h.audit({ jobId: 'flaky', limit: 1 }))[0]).toMatchObject({ action: 'pause', actor: 'ops-bot' });
    // Once paused it is left alone.
    expect(await quarantineFailing(h)).toEqual([]);
  } finally {
    await h.close();
  }
});
