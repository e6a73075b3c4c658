/**
 * Hono: `app.all('/admin/*', honoAdmin({ control, token }))`. The admin API's fetch handler
 * on Hono's raw Request; the mount path (`/admin`) is taken from the matched route, so no
 * `basePath` is needed. Structural types only: Hono is not a dependency.
 */
import { createAdminFetchHandler } from './fetch.js';
import type { AdminHandlerOptions } from './options.js';

/** The part of Hono's Context the helper uses. */
export interface HonoAdminContext {
  req: { raw: Request; routePath?: string };
  /** On @hono/node-server: `{ incoming, outgoing }`, for the client's address. */
  env?: unknown;
}

export function honoAdmin(options: AdminHandlerOptions): (c: HonoAdminContext) => Promise<Response> {
  const handle = createAdminFetchHandler(options);
  const stripMount = options.basePath === undefined;
  return (c) => {
    const route = c.req.routePath ?? '';
    const stripPrefix = stripMount && route.endsWith('/*') ? route.slice(0, -2) : undefined;
    const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
    const info: { stripPrefix?: string; remoteAddress?: string } = {};
    if (stripPrefix !== undefined) info.stripPrefix = stripPrefix;
    if (incoming?.socket?.remoteAddress !== undefined) info.remoteAddress = incoming.socket.remoteAddress;
    return handle(c.req.raw, info);
  };
}
