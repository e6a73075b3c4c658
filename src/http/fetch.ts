/**
 * The admin API as a fetch handler, `(request: Request) => Promise<Response>`: for Hono,
 * Bun, Deno and other runtimes built on the web's Request and Response. Same routes, auth,
 * limits and JSON errors as the Node listener.
 */
import { readWebJsonBody } from './body.js';
import { createAdminDispatch, type AdminAnswer } from './handler.js';
import type { AdminHandlerOptions } from './options.js';

export interface FetchRequestInfo {
  /** The client's address, for the audit's actor when no `actorHeader` names the user. */
  remoteAddress?: string;
  /** A leading path the framework matched but did not strip (`/admin`), cut before routing. */
  stripPrefix?: string;
}

export type AdminFetchHandler = (request: Request, info?: FetchRequestInfo) => Promise<Response>;

/** Validates the options at once (a bad one throws `ERR_INVALID_OPTION`) and returns the handler. */
export function createAdminFetchHandler(options: AdminHandlerOptions): AdminFetchHandler {
  const { dispatch, maxBodyBytes } = createAdminDispatch(options);
  return async (request, info = {}) => {
    const url = new URL(request.url);
    let path = url.pathname;
    const prefix = info.stripPrefix?.replace(/\/+$/, '') ?? '';
    if (prefix !== '' && (path === prefix || path.startsWith(`${prefix}/`))) path = path.slice(prefix.length) || '/';
    const answer = await dispatch({
      method: request.method,
      url: `${path}${url.search}`,
      header: (name) => request.headers.get(name) ?? undefined,
      remoteAddress: info.remoteAddress,
      body: () => readWebJsonBody(request, maxBodyBytes),
    });
    return toResponse(answer, request.method === 'HEAD');
  };
}

function toResponse(answer: AdminAnswer, head: boolean): Response {
  const headers = new Headers(answer.headers);
  // Admin answers are live state: never serve them from a cache.
  headers.set('Cache-Control', 'no-store');
  headers.set('X-Content-Type-Options', 'nosniff');
  if (answer.status === 204) return new Response(null, { status: 204, headers });
  headers.set('Content-Type', 'application/json; charset=utf-8');
  return new Response(head ? null : JSON.stringify(answer.body), { status: answer.status, headers });
}
