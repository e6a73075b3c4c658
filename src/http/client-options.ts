import { z } from 'zod';
import { duration, parseOptions } from '../util/options.js';

/** The `fetch` the client calls: the global one of Node >= 20, undici's, or a test double. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

function adminUrl(value: string, ctx: z.RefinementCtx): string {
  const fail = (message: string): never => {
    ctx.addIssue({ code: 'custom', message, input: value });
    return z.NEVER;
  };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('an absolute http(s) URL such as "https://ops.example.com/admin"');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('an http: or https: URL');
  // Secrets in a URL end up in logs and proxies: the token goes in a header (`token`).
  if (url.username !== '' || url.password !== '') return fail('a URL without credentials (pass the token as `token`)');
  if (url.search !== '' || url.hash !== '') return fail('a URL without a query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

const clientOptionsSchema = z
  .object({
    /**
     * Where `createAdminHandler` answers, with its base path: `https://ops.example.com/admin`
     * (requests go to `<url>/jobs`, `<url>/audit`, …). No credentials, query or fragment.
     */
    url: z.string({ error: 'an absolute http(s) URL such as "https://ops.example.com/admin"' }).transform(adminUrl),
    /**
     * The handler's bearer token, sent as `Authorization: Bearer <token>` (never in the URL).
     * Omit it only when the handler sits behind your own authentication (then see `headers`).
     * @default undefined
     */
    token: z
      .string({ error: 'a token of visible ASCII characters' })
      .regex(/^[\x21-\x7e]+$/, 'a token of visible ASCII characters')
      .optional(),
    /**
     * The `fetch` to call.
     * @default globalThis.fetch
     */
    fetch: z.custom<FetchLike>((value) => typeof value === 'function', 'a fetch function').optional(),
    /**
     * How long one call may take, answer included, before it fails with `ERR_TIMEOUT`.
     * @default '10s'
     */
    timeout: duration(1).default(10_000),
    /**
     * Extra request headers (a proxy's credentials, a trace id). `Authorization` only without `token`.
     * @default {}
     */
    headers: z
      .record(z.string(), z.string({ error: 'a string header value' }), { error: 'an object of header names to string values' })
      .default({}),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.token !== undefined && Object.keys(o.headers).some((name) => name.toLowerCase() === 'authorization')) {
      ctx.addIssue({
        code: 'custom',
        path: ['headers', 'authorization'],
        message: 'no Authorization header beside `token`',
        input: o.headers,
      });
    }
  });

export type AdminClientOptions = z.input<typeof clientOptionsSchema>;
export type ResolvedAdminClientOptions = z.output<typeof clientOptionsSchema>;

export function parseAdminClientOptions(options: unknown): ResolvedAdminClientOptions {
  return parseOptions(clientOptionsSchema, options ?? {}, {
    label: 'admin client option',
    // The message quotes the value received: a URL carrying a secret must not reach a log.
    redact: (field, value) => (field === 'url' && typeof value === 'string' ? redact(value) : value),
  });
}

/** The URL with its credentials, query and fragment masked. */
function redact(value: string): string {
  try {
    const url = new URL(value);
    if (url.username !== '') url.username = '***';
    if (url.password !== '') url.password = '***';
    if (url.search !== '') url.search = '?***';
    if (url.hash !== '') url.hash = '#***';
    return url.href;
  } catch {
    return value;
  }
}
