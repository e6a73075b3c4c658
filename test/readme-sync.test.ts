import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The README's usage example is examples/quick-start.ts, which the type-check compiles
// and which runs against the real services; this keeps the README's copy identical.
const root = new URL('..', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const example = readFileSync(new URL('examples/quick-start.ts', root), 'utf8');

describe('README', () => {
  it('shows examples/quick-start.ts verbatim, imported from the package', () => {
    const body = example.split('// --- README ---\n')[1]?.split('// --- /README ---')[0];
    expect(body, 'markers in examples/quick-start.ts').toBeTruthy();
    const block = readme.split('## Define a job, migrate, run')[1]?.split('```ts\n')[1]?.split('```')[0];
    expect(block, 'the ts block under "Define a job, migrate, run"').toBeTruthy();
    expect(block).toContain(body!.trim());
    expect(block).toContain("from 'warren';");
    for (const name of ['defineJob', 'migrate', 'createScheduler', 'createWorker']) expect(example).toContain(name);
  });
});
