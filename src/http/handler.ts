/**
 * `createAdminHandler(options)`: the seed's REST API as a plain Node request listener, so it
 * mounts in `http.createServer`, Express (`app.use('/admin', handler)`) or any framework
 * that hands over the raw request and response. No framework dependency. The routing,
 * auth and error answers live in one transport-neutral `dispatch`; the Node listener here
 * and the fetch handler (fetch.ts) only adapt requests and responses to it. A browser
 * asking a Node adapter for `/` gets the admin page (page.ts), which calls this same API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import createDebug from 'debug';
import { bearerCheck } from './auth.js';
import { readJsonBody } from './body.js';
import { parseAdminHandlerOptions, type AdminHandlerOptions } from './options.js';
import { frameworkBodyError } from './framework-errors.js';
import { createPageServer } from './page.js';
import { HttpError, describeError, sendJson } from './respond.js';
import { matchRoute, type Method } from './routes.js';
import { ACTOR_HEADER } from './wire.js';
import { createLog } from '../util/logger.js';

const debug = createDebug('warren:http');

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void;

const METHODS: readonly string[] = ['GET', 'POST', 'PATCH', 'DELETE'];

/** A request as any adapter sees it. */
export interface AdminRequest {
  method: string;
  /** Path and query, without the mount path a framework stripped. */
  url: string;
  header(name: string): string | undefined;
  remoteAddress: string | undefined;
  /** Reads and parses the JSON body (`undefined` when empty). */
  body(): Promise<unknown>;
}

export interface AdminAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** Answers any request; never throws (a failure is answered in warren's JSON error format). */
export type AdminDispatch = (req: AdminRequest) => Promise<AdminAnswer>;

/** The transport-neutral core behind every adapter. Validates the options at once. */
export interface AdminCore {
  dispatch: AdminDispatch;
  maxBodyBytes: number;
  /**
   * The answer (and the log line) for an error a framework raised before `dispatch` (a body
   * its parser refused): 401 without the token (a caller without it learns nothing, not even
   * that its body was bad), else the error in warren's format.
   */
  frameworkError(error: unknown, req: AdminRequest): AdminAnswer;
  /** Serves the admin page and its assets (Node adapters, with `page` on); false when the request is not for them. */
  servePage(req: IncomingMessage, res: ServerResponse): boolean;
}

/** The decoded path segments of a request target; `null` for bad percent-encoding. */
function pathSegments(url: string): { segments: string[] | null; query: URLSearchParams } {
  // Split by hand: `new URL('//host/x', base)` would read a doubled slash as a host.
  const mark = url.indexOf('?');
  const pathname = mark === -1 ? url : url.slice(0, mark);
  const query = new URLSearchParams(mark === -1 ? '' : url.slice(mark + 1));
  try {
    return {
      segments: pathname
        .split('/')
        .filter((s) => s !== '')
        .map((s) => decodeURIComponent(s)),
      query,
    };
  } catch {
    return { segments: null, query };
  }
}

export function createAdminDispatch(options: AdminHandlerOptions): AdminCore {
  const o = parseAdminHandlerOptions(options);
  const log = createLog({ debug, logger: o.logger });
  const check = o.token === undefined ? null : bearerCheck(o.token);
  const authenticate = (req: Pick<AdminRequest, 'header'>) => check?.({ headers: { authorization: req.header('authorization') } });
  const base = o.basePath.split('/').filter((s) => s !== '');
  const page = o.page ? createPageServer(o.frameAncestors) : null;
  const label = (req: Pick<AdminRequest, 'method' | 'url'>) => `${req.method} ${req.url.split('?')[0]}`;

  // A proxy-verified user first, then the label the admin client names, then the address.
  const actorOf = (req: AdminRequest): string => {
    if (o.actorHeader !== undefined) {
      const user = req.header(o.actorHeader)?.trim();
      if (user) return user.slice(0, 200);
    }
    const named = decodeActor(req.header(ACTOR_HEADER)?.trim());
    if (named) return named.slice(0, 200);
    return `http:${req.remoteAddress ?? 'unknown'}`;
  };

  const routeNotFound = (req: AdminRequest) => new HttpError(404, 'ERR_ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`);

  const serve = async (req: AdminRequest): Promise<AdminAnswer> => {
    const { segments, query } = pathSegments(req.url);
    if (segments === null) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'The request path is not valid percent-encoding');
    if (base.some((part, i) => segments[i] !== part)) throw routeNotFound(req);
    // Authenticate before routing, so an unauthenticated caller learns nothing about the API.
    authenticate(req);
    const match = matchRoute(segments.slice(base.length));
    if (match === null) throw routeNotFound(req);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const run = METHODS.includes(method) ? match.route.methods[method as Method] : undefined;
    if (run === undefined) {
      const allow = Object.keys(match.route.methods);
      if (allow.includes('GET')) allow.push('HEAD');
      throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed here; allowed: ${allow.join(', ')}`, undefined, {
        Allow: allow.join(', '),
      });
    }
    const result = await run({ control: o.control, params: match.params, query, body: () => req.body(), actor: actorOf(req) });
    return { status: result.status, body: 'body' in result ? result.body : undefined, headers: {} };
  };

  const fail = (error: unknown, req: Pick<AdminRequest, 'method' | 'url'>): AdminAnswer => {
    const { status, body, headers, internal } = describeError(error);
    if (internal) log.error(`warren admin API: ${label(req)} failed: ${(error as Error)?.message ?? String(error)}`, { err: error });
    else debug('%s → %d %s', label(req), status, body.error.code);
    return { status, body, headers };
  };

  const frameworkError = (error: unknown, req: AdminRequest): AdminAnswer => {
    try {
      authenticate(req);
    } catch (authError) {
      return fail(authError, req);
    }
    return fail(frameworkBodyError(error) ?? error, req);
  };

  // The page and its assets are static and hold no data: served before authentication.
  const servePage = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (page === null) return false;
    const { segments } = pathSegments(req.url ?? '/');
    if (segments === null || base.some((part, i) => segments[i] !== part)) return false;
    return page.serve(req, res, segments.slice(base.length));
  };

  return {
    dispatch: (req) => serve(req).catch((error: unknown) => fail(error, req)),
    maxBodyBytes: o.maxBodyBytes,
    frameworkError,
    servePage,
  };
}

/** The request a Node listener (or a framework handing over Node's objects) sees. */
export function nodeRequest(req: IncomingMessage & { body?: unknown }, maxBodyBytes: number): AdminRequest {
  return {
    method: req.method ?? '',
    url: req.url ?? '/',
    header: (name) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
    remoteAddress: req.socket?.remoteAddress,
    body: () => readJsonBody(req, maxBodyBytes),
  };
}

/** Writes an answer; a body the route never read is drained, or a kept-alive socket stalls. */
export function sendAnswer(req: IncomingMessage, res: ServerResponse, answer: AdminAnswer): void {
  if (!req.readableEnded) req.resume();
  try {
    sendJson(res, answer.status, answer.body, answer.headers);
  } catch (sendError) {
    debug('could not answer %s %s: %O', req.method, (req.url ?? '').split('?')[0], sendError);
    res.destroy();
  }
}

/** Validates the options at once (a bad one throws `ERR_INVALID_OPTION`) and returns the listener. */
export function createAdminHandler(options: AdminHandlerOptions): AdminHandler {
  const { dispatch, maxBodyBytes, servePage } = createAdminDispatch(options);
  return (req, res) => {
    if (servePage(req, res)) return;
    void dispatch(nodeRequest(req, maxBodyBytes)).then((answer) => sendAnswer(req, res, answer));
  };
}

function decodeActor(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return decodeURIComponent(value).trim();
  } catch {
    return value;
  }
}
