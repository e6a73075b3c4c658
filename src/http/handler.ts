/**
 * `createAdminHandler(options)`: the seed's REST API as a plain Node request listener, so it
 * mounts in `http.createServer`, Express (`app.use('/admin', handler)`) or any framework
 * that hands over the raw request and response. No framework dependency. A browser asking
 * for `/` gets the admin page (page.ts), which calls this same API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import createDebug from 'debug';
import { bearerCheck } from './auth.js';
import { readJsonBody } from './body.js';
import { parseAdminHandlerOptions, type AdminHandlerOptions } from './options.js';
import { createPageServer } from './page.js';
import { HttpError, describeError, requestLabel, sendJson } from './respond.js';
import { matchRoute, type Method } from './routes.js';
import { ACTOR_HEADER } from './wire.js';
import { createLog } from '../util/logger.js';

const debug = createDebug('warren:http');

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void;

const METHODS: readonly string[] = ['GET', 'POST', 'PATCH', 'DELETE'];

/** Validates the options at once (a bad one throws `ERR_INVALID_OPTION`) and returns the listener. */
export function createAdminHandler(options: AdminHandlerOptions): AdminHandler {
  const o = parseAdminHandlerOptions(options);
  const log = createLog({ debug, logger: o.logger });
  const authenticate = o.token === undefined ? null : bearerCheck(o.token);
  const base = o.basePath.split('/').filter((s) => s !== '');
  const page = o.page ? createPageServer(o.frameAncestors) : null;

  // A proxy-verified user first, then the label the admin client names, then the address.
  const actorOf = (req: IncomingMessage): string => {
    if (o.actorHeader !== undefined) {
      const user = headerValue(req, o.actorHeader);
      if (user) return user.slice(0, 200);
    }
    const named = decodeActor(headerValue(req, ACTOR_HEADER));
    if (named) return named.slice(0, 200);
    return `http:${req.socket?.remoteAddress ?? 'unknown'}`;
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Split by hand: `new URL('//host/x', base)` would read a doubled slash as a host.
    const target = req.url ?? '/';
    const mark = target.indexOf('?');
    const pathname = mark === -1 ? target : target.slice(0, mark);
    const query = new URLSearchParams(mark === -1 ? '' : target.slice(mark + 1));
    let segments: string[];
    try {
      segments = pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
    } catch {
      throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'The request path is not valid percent-encoding');
    }
    if (base.some((part, i) => segments[i] !== part)) throw routeNotFound(req);
    // The page and its assets are static and hold no data: served before authentication.
    if (page?.serve(req, res, segments.slice(base.length))) return;
    // Authenticate before routing, so an unauthenticated caller learns nothing about the API.
    authenticate?.(req);
    const match = matchRoute(segments.slice(base.length));
    if (match === null) throw routeNotFound(req);
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
    const run = METHODS.includes(method) ? match.route.methods[method as Method] : undefined;
    if (run === undefined) {
      const allow = Object.keys(match.route.methods);
      if (allow.includes('GET')) allow.push('HEAD');
      throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed here; allowed: ${allow.join(', ')}`, undefined, { Allow: allow.join(', ') });
    }
    const result = await run({
      control: o.control,
      params: match.params,
      query,
      body: () => readJsonBody(req, o.maxBodyBytes),
      actor: actorOf(req),
    });
    sendJson(res, result.status, 'body' in result ? result.body : undefined);
  };

  return (req, res) => {
    serve(req, res).catch((error: unknown) => {
      const { status, body, headers, internal } = describeError(error);
      if (internal) {
        log.error(`warren admin API: ${requestLabel(req)} failed: ${(error as Error)?.message ?? String(error)}`, { err: error });
      } else {
        debug('%s → %d %s', requestLabel(req), status, body.error.code);
      }
      // A body the route never read must still be drained, or a kept-alive socket stalls.
      if (!req.readableEnded) req.resume();
      try {
        sendJson(res, status, body, headers);
      } catch (sendError) {
        debug('could not answer %s: %O', requestLabel(req), sendError);
        res.destroy();
      }
    });
  };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim();
}

function decodeActor(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return decodeURIComponent(value).trim();
  } catch {
    return value;
  }
}

function routeNotFound(req: IncomingMessage): HttpError {
  return new HttpError(404, 'ERR_ROUTE_NOT_FOUND', `No route ${req.method ?? ''} ${(req.url ?? '').split('?')[0]}`);
}
