import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTROL_COMMANDS } from '../../src/cli/commands.js';

// docs/cli.md shows examples/jobs/seed-real.json verbatim and a row for every command.
const root = new URL('../..', import.meta.url);
const doc = readFileSync(new URL('docs/cli.md', root), 'utf8');

describe('docs/cli.md', () => {
  it('shows examples/jobs/seed-real.json verbatim', () => {
    const block = doc.split('<!-- seed-real.json -->\n```json\n')[1]?.split('```')[0];
    expect(block, 'the json block after <!-- seed-real.json -->').toBeTruthy();
    expect(block).toBe(readFileSync(new URL('examples/jobs/seed-real.json', root), 'utf8'));
  });

  it('has a row for every command', () => {
    for (const name of ['migrate', ...CONTROL_COMMANDS.map((command) => command.name)])
      expect(doc).toMatch(new RegExp(`^\\| \`${name}[ \`]`, 'm'));
  });
});
