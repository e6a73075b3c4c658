import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

// One entry per public subpath. ESM and CJS, each with its own .d.ts / .d.cts so
// `attw --profile node16` resolves types for both module systems.
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      testing: 'src/testing/index.ts',
      http: 'src/http/index.ts',
      telegram: 'src/telegram/index.ts',
      prometheus: 'src/prometheus/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // The CLI below builds beside this one at the same time: keep its files.
    clean: ['!cli.js', '!cli.js.map'],
    target: 'node20',
    splitting: true,
    treeshake: true,
  },
  {
    // The `warren` bin: one self-contained ESM file (shebang kept, made executable).
    entry: { cli: 'src/cli/bin.ts' },
    splitting: false,
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    define: { __WARREN_VERSION__: JSON.stringify(version) },
  },
]);
