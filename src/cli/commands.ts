/**
 * The commands, each written once against `Control` (whichever door it came through):
 * what to call, and how to show the answer to a person. `--json` prints the answer itself.
 */
import { WarrenError } from '../errors.js';
import { RUN_STATUSES, type Control } from '../scheduler/control-types.js';
import type { RunStatus } from '../store/port.js';
import { usage } from './exit-codes.js';
import { auditTable, jobBlock, jobsTable, runsTable, safeText, statusLine, type TimeFormat } from './format.js';
import { planUpserts, readJobFile } from './job-file.js';

export interface CommandInput {
  control: Control;
  /** The positional arguments, in order. */
  args: string[];
  /** The command's own flags. */
  opts: Record<string, unknown>;
  /** `--scope`; undefined only in remote mode, where the admin API steers its own. */
  scope: string | undefined;
  actor: string;
  stdin: NodeJS.ReadableStream;
}

export interface CommandOption {
  flags: string;
  description: string;
  parse?: (value: string, previous: unknown) => unknown;
}

export interface ControlCommand {
  name: string;
  /** commander's argument syntax: `<id>`. */
  args: string[];
  summary: string;
  /** Shown after the options in `--help`. */
  examples: string[];
  options: CommandOption[];
  run(input: CommandInput): Promise<unknown>;
  /** The answer for a person (`--json` prints the answer itself). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command renders its own answer type
  render(result: any, time: TimeFormat): string;
}

/** `--limit`: a whole number; the control API checks the range. */
export function integerFlag(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw usage(`Invalid \`--${name}\`: expected a whole number, got ${JSON.stringify(value)}`, name);
    return Number(value);
  };
}

/** `--status failed,dead` or `--status failed --status dead`. */
function statusFlag(value: string, previous: unknown): RunStatus[] {
  const list = Array.isArray(previous) ? [...(previous as RunStatus[])] : [];
  for (const status of value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    if (!(RUN_STATUSES as readonly string[]).includes(status))
      throw usage(`Invalid \`--status\`: expected one of ${RUN_STATUSES.join(', ')}, got ${JSON.stringify(status)}`, 'status');
    list.push(status as RunStatus);
  }
  return list;
}

/** `--params '{"symbol":"005930"}'`, `--patch '{"every":"30s"}'`: a JSON object. */
function jsonObjectFlag(name: string, value: unknown, example: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(value));
  } catch (error) {
    throw new WarrenError(
      'ERR_INVALID_ARGUMENT',
      `Invalid \`--${name}\`: expected a JSON object such as '${example}', got ${JSON.stringify(value)}`,
      {
        field: name,
        cause: error,
      },
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new WarrenError('ERR_INVALID_ARGUMENT', `Invalid \`--${name}\`: expected a JSON object, got ${JSON.stringify(value)}`, {
      field: name,
    });
  }
  return parsed as Record<string, unknown>;
}

const id = (input: CommandInput): string => input.args[0]!;

export const CONTROL_COMMANDS: ControlCommand[] = [
  {
    name: 'jobs',
    args: [],
    summary: "List the scope's jobs with their state, schedule, next and last run",
    examples: ['warren jobs --scope real', 'warren jobs --scope real --json | jq -r ".[] | select(.paused) | .id"'],
    options: [],
    run: ({ control }) => control.list(),
    render: (jobs, time) => jobsTable(jobs, time),
  },
  {
    name: 'job',
    args: ['<id>'],
    summary: 'Show one job: its status and stored settings',
    examples: ['warren job buy-scanner --scope real'],
    options: [],
    run: (input) => input.control.get(id(input)),
    render: (details, time) => jobBlock(details, time),
  },
  {
    name: 'pause',
    args: ['<id>'],
    summary: 'Pause a job: no new runs (a queue-mode chain stops too) until resume',
    examples: ['warren pause buy-scanner --scope real --note "market closed until Monday"'],
    options: [{ flags: '--note <text>', description: 'why, or until when (shown beside the paused job)' }],
    run: (input) => input.control.pause(id(input), { note: (input.opts.note as string | undefined) ?? null, actor: input.actor }),
    render: (details, time) => `paused ${statusLine(details, time)}`,
  },
  {
    name: 'resume',
    args: ['<id>'],
    summary: 'Resume a paused job at its next slot (a queue-mode job runs once at once)',
    examples: ['warren resume buy-scanner --scope real'],
    options: [],
    run: (input) => input.control.resume(id(input), { actor: input.actor }),
    render: (details, time) => `resumed ${statusLine(details, time)}`,
  },
  {
    name: 'run',
    args: ['<id>'],
    summary: 'Run a job now (or after --delay), even while paused',
    examples: [
      'warren run price-monitor-start --scope real',
      `warren run scout-daily --scope real --params '{"market":"kospi"}' --delay 30s`,
    ],
    options: [
      { flags: '--params <json>', description: "a JSON object merged over the job's params" },
      { flags: '--delay <duration>', description: 'not before this long from now: 30s, 5m, 1h30m, or seconds' },
    ],
    run: (input) => {
      const params = jsonObjectFlag('params', input.opts.params, '{"symbol":"005930"}');
      const delay = input.opts.delay as string | undefined;
      return input.control.runNow(id(input), {
        actor: input.actor,
        ...(params ? { params } : {}),
        ...(delay !== undefined ? { delay } : {}),
      });
    },
    render: (run, time) => `queued run ${run.runId} of ${safeText(run.jobId)}, not before ${time(run.availableAt)}`,
  },
  {
    name: 'runs',
    args: ['<id>'],
    summary: "A job's recent runs, newest first",
    examples: ['warren runs buy-scanner --scope real --limit 10', 'warren runs buy-scanner --scope real --status failed,dead,timed_out'],
    options: [
      { flags: '--limit <n>', description: 'at most this many runs (1-10000, default 50)', parse: integerFlag('limit') },
      {
        flags: '--status <status>',
        description: `only these statuses, comma-separated or repeated (${RUN_STATUSES.join(', ')})`,
        parse: statusFlag,
      },
    ],
    run: (input) => {
      const { limit, status } = input.opts as { limit?: number; status?: RunStatus[] };
      return input.control.runs(id(input), { ...(limit !== undefined ? { limit } : {}), ...(status ? { status } : {}) });
    },
    render: (runs, time) => runsTable(runs, time),
  },
  {
    name: 'upsert',
    args: [],
    summary: "Create or replace jobs from a JSON file: one job body or an array (the seed's POST /jobs bodies or JSON JobSpecs)",
    examples: ['warren upsert --scope real --file jobs.real.json', 'cat job.json | warren upsert --scope mock --file -'],
    options: [{ flags: '--file <path>', description: 'the JSON file, or - for stdin (required)' }],
    run: async (input) => {
      const path = input.opts.file as string | undefined;
      if (path === undefined) throw usage('Missing `--file <path>` (a JSON job body or an array of them; - reads stdin)', 'file');
      const file = await readJobFile(path, input.stdin);
      const results: unknown[] = [];
      for (const index of planUpserts(file.bodies, input.scope))
        results[index] = await input.control.upsert(file.bodies[index], { actor: input.actor });
      return file.array ? results : results[0];
    },
    render: (result, time) =>
      (Array.isArray(result) ? result : [result]).map((details) => `upserted ${statusLine(details, time)}`).join('\n'),
  },
  {
    name: 'update',
    args: ['<id>'],
    summary: "Change a job's settings (schedule, params, timeout, ...); the changed keys stay as set until changed again",
    examples: [
      `warren update buy-scanner --scope real --patch '{"interval_seconds":120}'`,
      `warren update scout-daily --scope real --patch '{"schedule":{"cron":"0 9 * * 1-5"},"params":{"market":"kosdaq"}}'`,
    ],
    options: [{ flags: '--patch <json>', description: 'a JSON object of the settings to change, as PATCH /jobs/:id takes (required)' }],
    run: (input) => {
      const patch = jsonObjectFlag('patch', input.opts.patch, '{"interval_seconds":120}');
      if (patch === undefined) throw usage('Missing `--patch <json>` (the settings to change, e.g. \'{"interval_seconds":120}\')', 'patch');
      return input.control.update(id(input), patch, { actor: input.actor });
    },
    render: (details, time) => `updated ${statusLine(details, time)}`,
  },
  {
    name: 'backfill',
    args: ['<id>'],
    summary: "Create the runs of a scheduled job's slots in a past window (a slot that already has a run is left alone)",
    examples: ['warren backfill price-monitor --scope real --from 2026-12-01T00:00:00Z --to 2026-12-01T06:00:00Z'],
    options: [
      { flags: '--from <time>', description: 'the first instant of the window, ISO 8601 (required)' },
      { flags: '--to <time>', description: 'the last instant of the window, ISO 8601 (required)' },
    ],
    run: (input) => {
      const { from, to } = input.opts as { from?: string; to?: string };
      if (from === undefined || to === undefined)
        throw usage(
          'Missing `--from <time>` or `--to <time>` (ISO 8601 instants, e.g. 2026-12-01T00:00:00Z)',
          from === undefined ? 'from' : 'to',
        );
      return input.control.backfill(id(input), { from, to, actor: input.actor });
    },
    render: (result: { slots: number; inserted: Array<{ runId: string }> }) =>
      `backfill: ${result.slots} slot(s) in the window, ${result.inserted.length} run(s) created`,
  },
  {
    name: 'remove',
    args: ['<id>'],
    summary: 'Delete a job: pending runs are cancelled, running ones asked to stop; the history stays',
    examples: ['warren remove mock-scout --scope mock'],
    options: [],
    run: async (input) => {
      await input.control.remove(id(input), { actor: input.actor });
      return { id: id(input), removed: true };
    },
    render: (result) => `removed ${safeText(result.id)}`,
  },
  {
    name: 'audit',
    args: [],
    summary: 'Control actions recorded in the scope (who paused, ran, changed what), newest first',
    examples: ['warren audit --scope real --job buy-scanner --limit 20'],
    options: [
      { flags: '--job <id>', description: "only this job's entries" },
      { flags: '--limit <n>', description: 'at most this many entries (1-10000, default 100)', parse: integerFlag('limit') },
    ],
    run: (input) => {
      const { job, limit } = input.opts as { job?: string; limit?: number };
      return input.control.audit({ ...(job !== undefined ? { jobId: job } : {}), ...(limit !== undefined ? { limit } : {}) });
    },
    render: (entries, time) => auditTable(entries, time),
  },
];
