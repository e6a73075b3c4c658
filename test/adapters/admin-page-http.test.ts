/**
 * The admin page as HTTP: where it is served, its security headers, its static assets, the
 * options that turn it off or let a dashboard frame it, and that the embedded copy matches
 * src/http/page/. The control API is a control-only scheduler over the in-memory store (the
 * page routes never call it; the JSON API beside them is tested over PostgreSQL and
 * RabbitMQ in http.test.ts). The page in a browser: admin-page.test.ts.
 */
import type http from 'node:http';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { isWarrenError } from '../../src/errors.js';
import { createAdminHandler, type AdminHandler, type AdminHandlerOptions } from '../../src/http/index.js';
import { PAGE_FILES, PAGE_HTML } from '../../src/http/page/assets.generated.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { MemoryStore } from '../../src/testing/index.js';
import { listen } from '../helpers/listen.js';

const TOKEN = 'page-token-0123456789abcdef';
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('warren/http admin page (HTTP)', () => {
  let h: Scheduler;
  const servers: Array<{ close(): Promise<void> }> = [];

  async function serve(options: Partial<AdminHandlerOptions> = {}, wrap?: (admin: AdminHandler) => http.RequestListener): Promise<string> {
    const admin = createAdminHandler({ control: h, token: TOKEN, ...options });
    const server = await listen(wrap ? wrap(admin) : admin);
    servers.push(server);
    return server.url;
  }

  const get = (url: string, headers: Record<string, string> = {}, method = 'GET') => fetch(url, { method, headers, redirect: 'manual' });

  beforeAll(async () => {
    h = createScheduler({
      store: new MemoryStore(),
      scope: 'page',
      role: 'control-only',
      jobs: [defineJob({ id: 'report', schedule: { every: '1h' } })],
    });
    await h.start();
  });

  afterAll(async () => {
    for (const server of servers) await server.close();
    await h?.close();
  });

  it('serves the page to a browser at / with a strict CSP, nosniff, no-referrer and no framing', async () => {
    const url = await serve();
    const page = await get(`${url}/`, { accept: HTML });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toBe(PAGE_HTML.body);
    // No inline script or style: every <script> has a src and no body, no style attributes or
    // elements, no inline event handlers.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="_warren\/app\.js"/);
      expect(body).toBe('');
    }
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=|javascript:/i);
  });

  it('serves the script and stylesheet with their types, nosniff and an ETag (304 when unchanged)', async () => {
    const url = await serve();
    for (const [name, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['app.css', 'text/css; charset=utf-8'],
    ] as const) {
      const asset = await get(`${url}/_warren/${name}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toBe(type);
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
      expect(asset.headers.get('cache-control')).toBe('no-cache');
      expect(await asset.text()).toBe(PAGE_FILES[name]!.body);
      const etag = asset.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await get(`${url}/_warren/${name}`, { 'if-none-match': etag });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      const head = await get(`${url}/_warren/${name}`, {}, 'HEAD');
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
    }
    const unknown = await get(`${url}/_warren/other.js`, { authorization: `Bearer ${TOKEN}` });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('ERR_ROUTE_NOT_FOUND');
  });

  it('leaves the JSON API as it was: GET / asking for JSON is a 401 without the token and a JSON 404 with it', async () => {
    const url = await serve();
    for (const accept of ['application/json', '*/*']) {
      const anonymous = await get(`${url}/`, { accept });
      expect(anonymous.status).toBe(401);
      expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('ERR_UNAUTHORIZED');
      const signed = await get(`${url}/`, { accept, authorization: `Bearer ${TOKEN}` });
      expect(signed.status).toBe(404);
      expect(signed.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await signed.json()) as { error: { code: string } }).error.code).toBe('ERR_ROUTE_NOT_FOUND');
    }
    // The page is no way around the token: the data still needs it.
    expect((await get(`${url}/jobs`, { accept: HTML })).status).toBe(401);
    const posted = await fetch(`${url}/`, { method: 'POST', headers: { accept: HTML } });
    expect(posted.status).toBe(401);
  });

  it('under basePath, serves the page at the directory and redirects the bare path to it', async () => {
    const url = await serve({ basePath: '/ops/scheduler' });
    const bare = await get(`${url}/ops/scheduler?tab=jobs`, { accept: HTML });
    expect(bare.status).toBe(307);
    expect(bare.headers.get('location')).toBe('scheduler/?tab=jobs');
    const page = await get(`${url}/ops/scheduler/`, { accept: HTML });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(PAGE_HTML.body);
    expect((await get(`${url}/ops/scheduler/_warren/app.js`)).status).toBe(200);
    expect((await get(`${url}/_warren/app.js`)).status).toBe(404);
  });

  it('mounted by a framework that strips the mount path, redirects by the original URL', async () => {
    // What Express's `app.use('/admin', handler)` does to the request.
    const url = await serve({}, (admin) => (req, res) => {
      Object.assign(req, { originalUrl: req.url });
      req.url = req.url!.slice('/admin'.length) || '/';
      admin(req, res);
    });
    const bare = await get(`${url}/admin`, { accept: HTML });
    expect(bare.status).toBe(307);
    expect(bare.headers.get('location')).toBe('admin/');
    const page = await get(`${url}/admin/`, { accept: HTML });
    expect(page.status).toBe(200);
    expect((await get(`${url}/admin/_warren/app.css`)).status).toBe(200);
  });

  it('page: false serves no page and no assets', async () => {
    const url = await serve({ page: false });
    const page = await get(`${url}/`, { accept: HTML });
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toMatch(/^application\/json/);
    const signed = await get(`${url}/`, { accept: HTML, authorization: `Bearer ${TOKEN}` });
    expect(signed.status).toBe(404);
    expect((await get(`${url}/_warren/app.js`, { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
  });

  it('frameAncestors lets the listed origins frame the page, and nothing else', async () => {
    const url = await serve({ frameAncestors: ['https://grafana.example.com', 'https://*.corp.example:8443', "'self'"] });
    const page = await get(`${url}/`, { accept: HTML });
    expect(page.headers.get('content-security-policy')).toBe(
      CSP.replace("frame-ancestors 'none'", "frame-ancestors https://grafana.example.com https://*.corp.example:8443 'self'"),
    );
    expect(page.headers.get('x-frame-options')).toBeNull();
  });

  it('refuses a page or frameAncestors option that is not what it must be, naming it', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ page: 'yes' }, 'page'],
      [{ frameAncestors: 'https://grafana.example.com' }, 'frameAncestors'],
      [{ frameAncestors: ['https://grafana.example.com/d/abc'] }, 'frameAncestors.0'],
      [{ frameAncestors: ['https://ok.example.com', "https://a.example.com; script-src 'unsafe-inline'"] }, 'frameAncestors.1'],
      [{ frameAncestors: ['grafana.example.com'] }, 'frameAncestors.0'],
      [{ frameAncestors: ['*'] }, 'frameAncestors.0'],
      [{ frameAncestors: ["'none'"] }, 'frameAncestors.0'],
      [{ frameAncestors: ['javascript:alert(1)'] }, 'frameAncestors.0'],
      [{ frameAncestors: [42] }, 'frameAncestors.0'],
    ];
    for (const [options, field] of cases) {
      let caught: unknown;
      try {
        createAdminHandler({ control: h, ...options } as never);
      } catch (error) {
        caught = error;
      }
      expect(isWarrenError(caught, 'ERR_INVALID_OPTION'), JSON.stringify(options)).toBe(true);
      expect((caught as { field: string }).field).toBe(field);
    }
  });

  it('ships the files under src/http/page/ as embedded (run `npm run embed-page` after editing them)', async () => {
    const dir = 'src/http/page';
    expect(PAGE_HTML.body).toBe(await readFile(`${dir}/index.html`, 'utf8'));
    expect(PAGE_FILES['app.js']!.body).toBe(await readFile(`${dir}/app.js`, 'utf8'));
    expect(PAGE_FILES['app.css']!.body).toBe(await readFile(`${dir}/app.css`, 'utf8'));
  });

  it('writes stored strings as text: the script has no HTML sink and no eval', () => {
    const script = PAGE_FILES['app.js']!.body;
    for (const sink of [
      /\.innerHTML\b/,
      /\.outerHTML\b/,
      /insertAdjacentHTML/,
      /document\.write/,
      /\beval\(/,
      /new Function\b/,
      /setAttribute\(\s*['"]on/i,
      /createContextualFragment/,
      /DOMParser/,
    ]) {
      expect(script).not.toMatch(sink);
    }
    expect(script).toMatch(/\.textContent = /);
  });
});
