/**
 * The seed's REST API (§7, §10) over the control API. Each route validates its own query
 * and body shape (unknown keys are refused, naming the key); the control API validates the
 * values and throws typed errors the handler turns into 400/404.
 */
import { z } from 'zod';
import type { RunStatus } from '../store/port.js';
import { RUN_STATUSES, type Control } from './control.js';
import { HttpError } from './respond.js';
import { parseOptions } from '../util/options.js';
import type { AdminAnswer } from './wire.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteContext {
  control: Control;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Reads and parses the JSON body (`undefined` when empty). */
  body(): Promise<unknown>;
  actor: string;
}

export type RouteResult = { status: 200 | 202; body: AdminAnswer } | { status: 204 };

export interface Route {
  /** Path segments; `:name` captures one segment. */
  pattern: string[];
  methods: Partial<Record<Method, (ctx: RouteContext) => Promise<RouteResult>>>;
}

const pauseBody = z
  .object(
    { note: z.string({ error: 'a string (or null)' }).max(1000, 'at most 1000 characters').nullable().optional() },
    { error: 'a JSON object such as {"note": "..."}' },
  )
  .strict();
const emptyBody = z.object({}, { error: 'no body or {}' }).strict();
const runNowBody = z
  .object(
    {
      params: z.record(z.string(), z.unknown(), { error: 'a JSON object' }).optional(),
      delay: z.union([z.string(), z.number()], { error: 'a duration such as "30s", or a number of seconds' }).optional(),
    },
    { error: 'a JSON object such as {"params": {}, "delay": "30s"}' },
  )
  .strict();
const backfillBody = z
  .object(
    {
      // Worded as the control API's own check, so both doors say the same.
      from: z.string({ error: 'a Date or an ISO-8601 timestamp' }),
      to: z.string({ error: 'a Date or an ISO-8601 timestamp' }),
    },
    { error: 'a JSON object such as {"from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z"}' },
  )
  .strict();

function bodyOf<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  return parseOptions(schema, body ?? {}, { code: 'ERR_INVALID_ARGUMENT' });
}

function limitOf(query: URLSearchParams, fallback: number): number {
  const raw = query.get('limit');
  if (raw === null) return fallback;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 10_000) {
    throw new HttpError(
      400,
      'ERR_INVALID_ARGUMENT',
      `Invalid \`limit\`: expected an integer in 1..10000, got ${JSON.stringify(raw)}`,
      'limit',
    );
  }
  return Number(raw);
}

function statusesOf(query: URLSearchParams): RunStatus[] | undefined {
  const raw = query
    .getAll('status')
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (raw.length === 0) return undefined;
  const bad = raw.find((s) => !(RUN_STATUSES as readonly string[]).includes(s));
  if (bad !== undefined) {
    throw new HttpError(
      400,
      'ERR_INVALID_ARGUMENT',
      `Invalid \`status\`: expected one of ${RUN_STATUSES.join(', ')}, got ${JSON.stringify(bad)}`,
      'status',
    );
  }
  return raw as RunStatus[];
}

const id = (ctx: RouteContext): string => ctx.params.id!;

export const ROUTES: Route[] = [
  {
    pattern: ['jobs'],
    methods: {
      GET: async ({ control }) => ({ status: 200, body: { jobs: await control.list() } }),
      POST: async (ctx) => {
        const body = await ctx.body();
        if (body === undefined)
          throw new HttpError(400, 'ERR_INVALID_JOB', "Expected a job as the JSON body (the seed's POST /jobs body or a JSON JobSpec)");
        return { status: 200, body: await ctx.control.upsert(body, { actor: ctx.actor }) };
      },
    },
  },
  {
    pattern: ['jobs', ':id'],
    methods: {
      GET: async (ctx) => ({ status: 200, body: await ctx.control.get(id(ctx)) }),
      PATCH: async (ctx) => {
        const body = await ctx.body();
        if (body === undefined) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'Expected the settings to change as the JSON body');
        return { status: 200, body: await ctx.control.update(id(ctx), body, { actor: ctx.actor }) };
      },
      DELETE: async (ctx) => {
        await ctx.control.remove(id(ctx), { actor: ctx.actor });
        return { status: 204 };
      },
    },
  },
  {
    pattern: ['jobs', ':id', 'pause'],
    methods: {
      POST: async (ctx) => {
        const { note } = bodyOf(pauseBody, await ctx.body());
        return { status: 200, body: await ctx.control.pause(id(ctx), { note: note ?? null, actor: ctx.actor }) };
      },
    },
  },
  {
    pattern: ['jobs', ':id', 'resume'],
    methods: {
      POST: async (ctx) => {
        bodyOf(emptyBody, await ctx.body());
        return { status: 200, body: await ctx.control.resume(id(ctx), { actor: ctx.actor }) };
      },
    },
  },
  {
    pattern: ['jobs', ':id', 'run-now'],
    methods: {
      POST: async (ctx) => {
        const { params, delay } = bodyOf(runNowBody, await ctx.body());
        const options: Parameters<Control['runNow']>[1] = { actor: ctx.actor };
        if (params !== undefined) options.params = params;
        if (delay !== undefined) options.delay = delay;
        // 202: the run is recorded and triggered; it executes when a worker takes it.
        return { status: 202, body: await ctx.control.runNow(id(ctx), options) };
      },
    },
  },
  {
    pattern: ['jobs', ':id', 'runs'],
    methods: {
      GET: async (ctx) => {
        const limit = limitOf(ctx.query, 50);
        const status = statusesOf(ctx.query);
        return { status: 200, body: { runs: await ctx.control.runs(id(ctx), status ? { limit, status } : { limit }) } };
      },
    },
  },
  {
    pattern: ['jobs', ':id', 'backfill'],
    methods: {
      POST: async (ctx) => {
        const { from, to } = bodyOf(backfillBody, await ctx.body());
        return { status: 200, body: await ctx.control.backfill(id(ctx), { from, to, actor: ctx.actor }) };
      },
    },
  },
  {
    pattern: ['jobs', ':id', 'last-run'],
    methods: {
      // The seed's workers reported here; warren's workers record their runs in the store.
      POST: async () => {
        throw new HttpError(
          410,
          'ERR_GONE',
          "POST /jobs/:id/last-run is not used: warren workers record each run (and the job's last run) in the store themselves",
        );
      },
    },
  },
  {
    pattern: ['audit'],
    methods: {
      GET: async (ctx) => {
        const limit = limitOf(ctx.query, 100);
        const jobId = ctx.query.get('jobId') ?? undefined;
        return { status: 200, body: { entries: await ctx.control.audit(jobId === undefined ? { limit } : { jobId, limit }) } };
      },
    },
  },
];

/** The route whose pattern matches, with its captures; `null` when none does. */
export function matchRoute(segments: string[]): { route: Route; params: Record<string, string> } | null {
  for (const route of ROUTES) {
    if (route.pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const part = route.pattern[i]!;
      if (part.startsWith(':')) params[part.slice(1)] = segments[i]!;
      else ok = part === segments[i];
    }
    if (ok) return { route, params };
  }
  return null;
}
