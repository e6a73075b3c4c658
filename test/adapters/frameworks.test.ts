/**
 * warren/http inside the real frameworks, on loopback: Express (with `express.json()`
 * mounted app-wide), Fastify (a plugin) and Hono (on @hono/node-server). Each answers an
 * invalid JSON body, a body over the limit and a wrong token in warren's JSON error
 * format, and pauses a job in the real store.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { expressAdmin, fastifyAdmin, honoAdmin } from '../../src/http/index.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { migrate } from '../../src/store/migrate.js';
import { uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

const TOKEN = 'framework-token-0123456789';
const LIMIT = 1024;
const report = defineJob({ id: 'report', schedule: { cron: '0 0 1 1 *' } });

let db: TestDatabase;
let control: Scheduler;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  db = await createTestDatabase('frameworks', 4);
  await migrate(db.pool, { schema: db.schema });
  // The control API needs only the store: no broker for a control-only instance.
  control = createScheduler({
    pool: db.pool,
    schema: db.schema,
    scope: uniqueToken('fw').replace(/_/g, '-'),
    role: 'control-only',
    jobs: [report],
  });
  await control.start();
  await control.ready({ timeout: '30s' });
});

afterAll(async () => {
  for (const close of closers) await close();
  await control?.close();
  await db?.drop();
});

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function nodeServer(server: Server): Promise<string> {
  if (!server.listening) await new Promise<void>((resolve) => server.once('listening', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return urlOf(server);
}

const servers: Record<string, () => Promise<string>> = {
  async Express() {
    const app = express();
    // App-wide, as most apps have it: the admin API must live with its parsed bodies and errors.
    app.use(express.json({ limit: LIMIT }));
    app.use('/admin', expressAdmin({ control, token: TOKEN }));
    return nodeServer(app.listen(0, '127.0.0.1'));
  },
  async Fastify() {
    const app: FastifyInstance = Fastify({ bodyLimit: LIMIT });
    await app.register(fastifyAdmin, { prefix: '/admin', control, token: TOKEN, maxBodyBytes: LIMIT });
    // The rest of the app keeps Fastify's own JSON parsing.
    app.post('/echo', async (request) => ({ echoed: request.body }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    return urlOf(app.server);
  },
  async Hono() {
    const app = new Hono();
    app.all('/admin/*', honoAdmin({ control, token: TOKEN, maxBodyBytes: LIMIT }));
    return nodeServer(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server);
  },
};

async function call(
  base: string,
  path: string,
  body: string | undefined,
  token = TOKEN,
): Promise<{ status: number; type: string | null; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), body: text === '' ? undefined : JSON.parse(text) };
}

describe.each(Object.keys(servers))('warren/http in %s', (name) => {
  let base: string;

  beforeAll(async () => {
    base = await servers[name]!();
  });

  it('answers invalid JSON with ERR_INVALID_JSON', async () => {
    const answer = await call(base, '/admin/jobs/report/pause', '{"note": ');
    expect(answer.status).toBe(400);
    expect(answer.type).toMatch(/^application\/json/);
    expect(answer.body.error).toMatchObject({ code: 'ERR_INVALID_JSON' });
  });

  it('answers a body over the limit with ERR_BODY_TOO_LARGE', async () => {
    const answer = await call(base, '/admin/jobs/report/pause', JSON.stringify({ note: 'x'.repeat(2 * LIMIT) }));
    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatchObject({ code: 'ERR_BODY_TOO_LARGE' });
  });

  it('answers a wrong token with 401 ERR_UNAUTHORIZED, even with a bad body', async () => {
    expect(await call(base, '/admin/jobs', undefined, 'wrong-token-0123456789')).toMatchObject({
      status: 401,
      body: { error: { code: 'ERR_UNAUTHORIZED' } },
    });
    expect(await call(base, '/admin/jobs/report/pause', '{oops', 'wrong-token-0123456789')).toMatchObject({
      status: 401,
      body: { error: { code: 'ERR_UNAUTHORIZED' } },
    });
  });

  it('pauses a job in the store and resumes it', async () => {
    const paused = await call(base, '/admin/jobs/report/pause', JSON.stringify({ note: `${name} maintenance` }));
    expect(paused).toMatchObject({ status: 200, body: { id: 'report', paused: true, pauseNote: `${name} maintenance` } });
    expect(await control.get('report')).toMatchObject({ paused: true, pauseNote: `${name} maintenance` });
    expect(await call(base, '/admin/jobs/report/resume', '{}')).toMatchObject({ status: 200, body: { paused: false } });
    expect(await call(base, '/admin/nope', undefined)).toMatchObject({ status: 404, body: { error: { code: 'ERR_ROUTE_NOT_FOUND' } } });
  });
});

it('Fastify: the plugin keeps its parser changes to itself', async () => {
  const base = await servers.Fastify!();
  const response = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  expect(await response.json()).toEqual({ echoed: { a: 1 } });
});
