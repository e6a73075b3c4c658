/**
 * `warren`, the command line: parses argv with commander, opens the configured door to the
 * control API, runs one command, prints the answer (a table, or JSON with `--json`) and
 * returns the exit code (docs/cli.md). Nothing here reads the environment or exits at
 * import: `bin.ts` passes argv, the streams and the environment in.
 */
import { Command, CommanderError, Option } from 'commander';
import { isWarrenError } from '../errors.js';
import { CONTROL_COMMANDS, type ControlCommand } from './commands.js';
import { cliActor, openControl, openDatabase, secretsOf, type Env, type GlobalFlags } from './connect.js';
import { EXIT, CliError, exitCodeOf, type ExitCode } from './exit-codes.js';
import { timeFormat } from './format.js';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: Env;
}

declare const __WARREN_VERSION__: string | undefined;
const VERSION = typeof __WARREN_VERSION__ === 'string' ? __WARREN_VERSION__ : '0.0.0-dev';

const ENVIRONMENT_HELP = `
Connection (secrets are read from the environment only, never from arguments):
  DATABASE_URL          PostgreSQL URL (or WARREN_DATABASE_URL): steer through the database
  WARREN_ADMIN_URL      the admin API of warren/http (or --url): steer over HTTP instead
  WARREN_ADMIN_TOKEN    the admin API's bearer token

Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 invalid input, 5 cannot connect,
6 unauthorized. Times are shown in --tz (default UTC).`;

function globalOptions(program: Command): void {
  program
    .addOption(
      new Option('--scope <scope>', 'the scope whose jobs to steer (required by every command but migrate; optional with --url)').env(
        'WARREN_SCOPE',
      ),
    )
    .addOption(
      new Option('--schema <schema>', "PostgreSQL schema of warren's tables (database mode)").env('WARREN_SCHEMA').default('scheduler'),
    )
    .addOption(new Option('--url <url>', 'admin API URL (remote mode; the token comes from WARREN_ADMIN_TOKEN)').env('WARREN_ADMIN_URL'))
    .addOption(new Option('--tz <zone>', 'IANA time zone of the times shown').env('WARREN_TZ').default('UTC'))
    .option('--json', 'print the answer as JSON (an error as a JSON object on stderr)');
}

/** Hides what must never be printed: known secrets, and the value of any `--flag=value` commander echoes back. */
function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(/'(--[A-Za-z0-9-]+)=[^']*'/g, "'$1=***'");
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

interface Reporter {
  result(value: unknown, human: () => string): void;
  error(error: unknown): ExitCode;
}

function reporter(io: CliIo, json: () => boolean): Reporter {
  const secrets = secretsOf(io.env);
  const write = (stream: NodeJS.WritableStream, text: string) => stream.write(`${redact(text, secrets)}\n`);
  return {
    result(value, human) {
      write(io.stdout, json() ? JSON.stringify(value, null, 2) : human());
    },
    error(error) {
      const exitCode = error instanceof CommanderError ? EXIT.usage : exitCodeOf(error);
      const { code, message, field } = describeError(error, exitCode);
      if (json()) write(io.stderr, JSON.stringify({ error: { code, message, ...(field !== undefined ? { field } : {}), exitCode } }));
      else write(io.stderr, `warren: ${message}`);
      return exitCode;
    },
  };
}

function describeError(error: unknown, exitCode: ExitCode): { code: string; message: string; field?: string } {
  if (error instanceof CommanderError) return { code: 'ERR_USAGE', message: error.message.replace(/^error: /, '') };
  if (error instanceof CliError)
    return { code: error.code, message: error.message, ...(error.field !== undefined ? { field: error.field } : {}) };
  if (isWarrenError(error) && exitCode !== EXIT.unreachable)
    return { code: error.code, message: error.message, ...(error.field !== undefined ? { field: error.field } : {}) };
  const message = error instanceof Error ? error.message || String(error) : String(error);
  if (exitCode === EXIT.unreachable) return { code: 'ERR_UNREACHABLE', message: `cannot connect: ${message}` };
  return { code: isWarrenError(error) ? error.code : 'ERR_UNEXPECTED', message };
}

function addControlCommand(program: Command, spec: ControlCommand, io: CliIo, out: Reporter): void {
  const command = program.command(spec.name).summary(spec.summary).description(spec.summary);
  for (const arg of spec.args) command.argument(arg);
  for (const option of spec.options) {
    if (option.parse) command.option(option.flags, option.description, option.parse as (value: string, previous: unknown) => unknown);
    else command.option(option.flags, option.description);
  }
  command.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}`);
  command.action(async (...received: unknown[]) => {
    const self = received[received.length - 1] as Command;
    const flags = self.optsWithGlobals<GlobalFlags>();
    const time = timeFormat(flags.tz ?? 'UTC');
    const session = await openControl(flags, io.env, spec.name);
    try {
      const result = await spec.run({
        control: session.control,
        args: self.args.slice(0, spec.args.length),
        opts: self.opts(),
        scope: session.scope,
        actor: cliActor(io.env),
        stdin: io.stdin,
      });
      out.result(result, () => spec.render(result, time));
    } catch (error) {
      throw session.explain(error);
    } finally {
      await session.close().catch(() => {});
    }
  });
}

function addMigrate(program: Command, io: CliIo, out: Reporter): void {
  program
    .command('migrate')
    .summary("Create or upgrade warren's tables in --schema (needs DATABASE_URL)")
    .description(
      "Create or upgrade warren's tables in --schema. Safe to run from several places at once: migrations serialise on an advisory lock. Needs DATABASE_URL; --scope is not used.",
    )
    .addHelpText('after', '\nExamples:\n  $ DATABASE_URL=postgres://warren@db/app warren migrate --schema scheduler')
    .action(async (_options: unknown, self: Command) => {
      const flags = self.optsWithGlobals<GlobalFlags>();
      const db = await openDatabase(flags, io.env);
      try {
        const { migrate } = await import('../store/migrate.js');
        const result = await migrate(db.pool, { schema: db.schema }).catch((error: unknown) => {
          throw db.explain(error);
        });
        out.result({ schema: db.schema, ...result }, () =>
          result.applied.length > 0
            ? `schema ${db.schema}: applied migration${result.applied.length > 1 ? 's' : ''} ${result.applied.join(', ')}; now at version ${result.current}`
            : `schema ${db.schema} is up to date (version ${result.current})`,
        );
      } finally {
        await db.close().catch(() => {});
      }
    });
}

export function buildProgram(io: CliIo, out: Reporter): Command {
  const program = new Command('warren')
    .description('Steer warren jobs from the command line: list, inspect, pause, resume, run, register.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .addHelpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(redact(text, secretsOf(io.env))),
      writeErr: (text) => io.stderr.write(redact(text, secretsOf(io.env))),
      // Errors are printed by the reporter (`warren: ...` or JSON), with one exit code scheme.
      outputError: () => {},
    })
    .addHelpText('after', ENVIRONMENT_HELP);
  globalOptions(program);
  addMigrate(program, io, out);
  for (const spec of CONTROL_COMMANDS) addControlCommand(program, spec, io, out);
  // Subcommands inherit exitOverride and the output settings from the program when created
  // through .command(), so their usage errors come back here too.
  return program;
}

/** Runs one invocation; resolves to the exit code. `argv` is without `node` and the script. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  // --json is known before commander finishes parsing, so even a usage error prints as JSON.
  const json = argv.includes('--json');
  const out = reporter(io, () => json);
  const program = buildProgram(io, out);
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT.usage;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT.ok;
    if (error instanceof CommanderError && error.code === 'commander.help') return EXIT.usage;
    return out.error(error);
  }
}
