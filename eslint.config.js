// ESLint flat config: @eslint/js and typescript-eslint recommended (syntax only: type-aware
// rules cost minutes on a 2-core CI machine), plus the layer order of docs/architecture.md
// as import boundaries, so an import that points up the data flow fails `npm run lint`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** src/ folders, lowest layer first (docs/architecture.md). */
const ADAPTERS = ['http', 'telegram', 'prometheus', 'cli', 'testing'];

/** A no-restricted-imports rule forbidding relative imports of these src/ folders. */
function forbid(layer, folders, why) {
  return {
    'no-restricted-imports': [
      'error',
      {
        patterns: folders.map((folder) => ({
          regex: `^(\\.\\./)+${folder.replace('/', '\\/')}(/|\\.js$)`,
          message: `${layer} must not import ${folder}/: ${why} (docs/architecture.md).`,
        })),
      },
    ],
  };
}

const ABOVE_BASE = ['define', 'store', 'broker', 'scheduler', 'worker', ...ADAPTERS];

export default tseslint.config(
  {
    ignores: ['dist/**', 'coverage/**', '**/node_modules/**', 'bench/results/**', '**/*.generated.ts', '.rabbit-*/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      // `_`-prefixed names are deliberately unused (a destructured key left out, a callback's slot).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `let h!: Harness` read by a handler written before `h` is assigned: not a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // The admin page's script runs in the browser, as plain JS.
    files: ['src/http/page/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
  },
  {
    // Tests, benchmarks and scripts cast freely at the edges of what they drive.
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },

  // ── Layer boundaries: dependencies point down the data flow ─────────────────────────
  // base (util/, errors, clock, names) → define → store → broker → scheduler | worker → adapters
  {
    files: ['src/util/**', 'src/errors.ts', 'src/clock.ts', 'src/names.ts'],
    rules: forbid('The base layer (util/, errors, clock, names)', ABOVE_BASE, 'it sits under every other layer'),
  },
  {
    files: ['src/define/**'],
    rules: forbid('define/', ABOVE_BASE.slice(1), 'a job definition knows nothing of where it is stored or sent'),
  },
  {
    files: ['src/store/**'],
    rules: forbid('store/', ['broker', 'scheduler', 'worker', ...ADAPTERS], 'the store holds the state; it never sends or schedules'),
  },
  {
    files: ['src/broker/**'],
    rules: forbid(
      'broker/',
      ['store', 'scheduler', 'worker', ...ADAPTERS],
      'the broker carries triggers and does not know the store (publish-and-mark is scheduler/publish-runs.ts)',
    ),
  },
  {
    files: ['src/scheduler/**'],
    rules: forbid('scheduler/', ['worker', ...ADAPTERS], 'the scheduler and the worker are peers, under the adapters'),
  },
  {
    files: ['src/worker/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...ADAPTERS.map((folder) => ({
              regex: `^(\\.\\./)+${folder}/`,
              message: `worker/ must not import ${folder}/: adapters sit above the worker (docs/architecture.md).`,
            })),
            {
              // The worker schedules runs too (retries, chain links): publish-and-mark is the one thing it takes from scheduler/.
              regex: '^(\\.\\./)+scheduler/(?!publish-runs\\.js$)',
              message: 'worker/ takes only publish-runs.js from scheduler/: the two are peers (docs/architecture.md).',
            },
          ],
        },
      ],
    },
  },
  ...['http', 'telegram', 'prometheus', 'cli', 'testing'].map((adapter) => ({
    files: [`src/${adapter}/**`],
    rules: forbid(
      `${adapter}/`,
      // The CLI's remote mode uses the HTTP client (a dynamic import); no other door imports another.
      ADAPTERS.filter((other) => other !== adapter && !(adapter === 'cli' && other === 'http')),
      'adapters do not import each other; shared helpers live in util/',
    ),
  })),
);
