/**
 * The admin page: an HTML shell at the mount path's `/` (for a browser, `Accept: text/html`)
 * and its script and stylesheet at `_warren/app.js` and `_warren/app.css`. They are static
 * and hold no data, so they are served without the token; the script then calls the JSON
 * API with the bearer token the user enters. Embedded at build time
 * (scripts/embed-page.mjs): no runtime fs read, so it survives bundling.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PAGE_FILES, PAGE_HTML, type PageAsset } from './page/assets.generated.js';

/** Where the script and stylesheet live, under the mount path. */
export const ASSET_DIR = '_warren';

/**
 * Strict: only this origin's script, style and API; no inline script or style, no
 * `<base>` rewriting, framing only by the origins the host listed.
 */
export function contentSecurityPolicy(frameAncestors: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors.length === 0 ? "'none'" : frameAncestors.join(' ')}`,
  ].join('; ');
}

export interface PageServer {
  /** Answers a page request and returns true; returns false for anything else. */
  serve(req: IncomingMessage, res: ServerResponse, segments: readonly string[]): boolean;
}

export function createPageServer(frameAncestors: readonly string[]): PageServer {
  const security: Record<string, string> = {
    'Content-Security-Policy': contentSecurityPolicy(frameAncestors),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    // For browsers without CSP frame-ancestors; a list of origins has no equivalent here.
    ...(frameAncestors.length === 0 ? { 'X-Frame-Options': 'DENY' } : {}),
  };

  const send = (req: IncomingMessage, res: ServerResponse, asset: PageAsset, cache: string, extra: Record<string, string> = {}): void => {
    for (const [name, value] of Object.entries({ ...security, ...extra })) res.setHeader(name, value);
    res.setHeader('Cache-Control', cache);
    res.setHeader('ETag', asset.etag);
    if (req.headers['if-none-match'] === asset.etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', asset.contentType);
    res.setHeader('Content-Length', Buffer.byteLength(asset.body));
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };

  return {
    serve(req, res, segments) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      if (segments.length === 2 && segments[0] === ASSET_DIR) {
        const asset = Object.hasOwn(PAGE_FILES, segments[1]!) ? PAGE_FILES[segments[1]!] : undefined;
        if (asset === undefined) return false;
        // Revalidated on each load (cheap, 304), so a new version is picked up at once.
        send(req, res, asset, 'no-cache');
        return true;
      }
      if (segments.length !== 0 || !acceptsHtml(req)) return false;
      const path = originalPath(req);
      if (!path.endsWith('/')) {
        // The page loads `_warren/app.js` and calls `jobs` relative to itself, so it must be
        // addressed as a directory: `/admin` → `/admin/` (relative, so any mount prefix holds).
        const last = path.slice(path.lastIndexOf('/') + 1);
        const target = req.url ?? '';
        const query = target.includes('?') ? target.slice(target.indexOf('?')) : '';
        res.statusCode = 307;
        res.setHeader('Location', `${last}/${query}`);
        res.setHeader('Cache-Control', 'no-store');
        res.end();
        return true;
      }
      send(req, res, PAGE_HTML, 'no-store', { Vary: 'Accept' });
      return true;
    },
  };
}

/** A browser navigating asks for `text/html`; API clients (`*\/*`, JSON) do not. */
function acceptsHtml(req: IncomingMessage): boolean {
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(req.headers.accept ?? '');
}

/** The path as the browser sent it: Express keeps it in `originalUrl` when it strips a mount path. */
function originalPath(req: IncomingMessage): string {
  const url = (req as IncomingMessage & { originalUrl?: unknown }).originalUrl;
  const target = typeof url === 'string' ? url : (req.url ?? '/');
  const mark = target.indexOf('?');
  return mark === -1 ? target : target.slice(0, mark);
}
