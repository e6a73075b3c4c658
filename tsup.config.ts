import { defineConfig } from 'tsup';

// One entry per public subpath. ESM and CJS, each with its own .d.ts / .d.cts so
// `attw --profile node16` resolves types for both module systems.
export default defineConfig({
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
  clean: true,
  target: 'node20',
  splitting: true,
  treeshake: true,
});
