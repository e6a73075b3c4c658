import { z } from 'zod';
import type { Control } from './control.js';
import { hasFunctions, integer, parseOptions } from '../util/options.js';

// An origin as CSP writes it: scheme and host (a leading `*.` allowed), an optional port,
// nothing else; so no value can end the directive or add another.
const FRAME_ANCESTOR_PATTERN = /^(?:'self'|https?:\/\/(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d{1,5})?)$/;
const FRAME_ANCESTOR = `an origin such as "https://grafana.example.com" (scheme, host, optional port; no path) or "'self'"`;

const CONTROL_METHODS = ['list', 'get', 'upsert', 'update', 'remove', 'pause', 'resume', 'runNow', 'runs', 'backfill', 'audit'];

/** Where error details go besides `debug('warren:http')`: pino, winston, console, ... (pino and bunyan are recognised and called `(fields, message)`). */
export interface AdminLogger {
  error(message: string, fields?: Record<string, unknown>): void;
}

const adminHandlerOptionsSchema = z
  .object({
    /** The control API: a `createScheduler()` instance (any role but `scheduler-only`). */
    control: z.custom<Control>(hasFunctions(...CONTROL_METHODS), `a control API (a scheduler, with ${CONTROL_METHODS.join('/')})`),
    /**
     * The bearer token every request must carry (`Authorization: Bearer <token>`). Without
     * it the handler does no authentication: mount it behind your own.
     * @default undefined
     */
    token: z.string({ error: 'a string of at least 16 characters' }).min(16, 'a string of at least 16 characters').optional(),
    /**
     * The path prefix the handler answers under (`/admin/scheduler`) when it sees full
     * URLs, as in `http.createServer(handler)`. Frameworks that strip their mount path
     * (Express `app.use('/admin', handler)`) need none.
     * @default ''
     */
    basePath: z
      .string({ error: 'a path such as "/admin"' })
      .regex(/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/, 'a path such as "/admin" (leading slash, no trailing slash)')
      .default(''),
    /**
     * Largest request body accepted; a larger one is answered 413.
     * @default 65536 (64 KiB)
     */
    maxBodyBytes: integer(1, 16 * 1024 * 1024).default(64 * 1024),
    /**
     * A request header naming the user, recorded as the actor of control actions (say
     * `x-forwarded-user` set by an authenticating proxy). Only trust it behind such a proxy.
     * Without it, or when the request lacks it, the actor is `http:<remote address>`.
     * @default undefined
     */
    actorHeader: z
      .string({ error: 'a header name' })
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'a header name')
      .transform((name) => name.toLowerCase())
      .optional(),
    /**
     * Serve the admin page: `GET /` from a browser (`Accept: text/html`) under the mount
     * path, with its script and stylesheet at `_warren/app.js` and `_warren/app.css`. The
     * page holds no data: it calls this API with the token the user enters.
     * @default true
     */
    page: z.boolean({ error: 'true or false' }).default(true),
    /**
     * Origins allowed to frame the page (CSP `frame-ancestors`), such as a Grafana that
     * links it: `['https://grafana.example.com']`. Empty: no one may frame it.
     * @default []
     */
    frameAncestors: z
      .array(z.string({ error: FRAME_ANCESTOR }).regex(FRAME_ANCESTOR_PATTERN, FRAME_ANCESTOR), {
        error: `a list of origins, each ${FRAME_ANCESTOR}`,
      })
      .max(32, 'at most 32 origins')
      .default([]),
    /** Receives unexpected errors (answered 500) besides `debug('warren:http')`. */
    logger: z.custom<AdminLogger>(hasFunctions('error'), 'a logger with error()').optional(),
  })
  .strict();

export type AdminHandlerOptions = z.input<typeof adminHandlerOptionsSchema>;
export type ResolvedAdminHandlerOptions = z.output<typeof adminHandlerOptionsSchema>;

export function parseAdminHandlerOptions(options: unknown): ResolvedAdminHandlerOptions {
  return parseOptions(adminHandlerOptionsSchema, options ?? {}, { label: 'admin handler option' });
}
