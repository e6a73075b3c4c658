#!/usr/bin/env node
/** The `warren` executable (package.json `bin`): see docs/cli.md. */
import { main } from './main.js';

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`warren: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
