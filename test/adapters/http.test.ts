import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWarrenError } from '../../src/errors.js';
import { createAdminHandler, type Control } from '../../src/http/index.js';
import { listen } from '../helpers/listen.js';
import { waitFor } from '../helpers/wait.js';
import { adapterFixture, type AdapterFixture } from './setup.js';

const TOKEN = 'test-token-0123456789abcdef';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

describe('warren/http over a real scheduler (PostgreSQL + RabbitMQ)', () => {
  let fx: AdapterFixture;
  let server: { url: string; close(): Promise<void> };
  const logged: string[] = [];

  async function call(
    method: string,
    path: string,
    options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const token = options.token === undefined ? TOKEN : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  }

  beforeAll(async () => {
    fx = await adapterFixture('http');
    server = await listen(
      createAdminHandler({ control: fx.scheduler, token: TOKEN, basePath: '/admin', logger: { error: (message) => logged.push(message) } }),
    );
  });

  afterAll(async () => {
    await server?.close();
    await fx?.teardown();
  });

  it('GET /jobs lists the synced code definitions with their status', async () => {
    const answer = await call('GET', '/admin/jobs');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body.jobs).toHaveLength(1);
    expect(answer.body.jobs[0]).toMatchObject({
      id: 'report',
      queue: 'reports',
      enabled: true,
      paused: false,
      description: 'yearly report',
      running: 0,
    });
    expect(Date.parse(answer.body.jobs[0].nextDueAt)).toBeGreaterThan(Date.now());
  });

  it('POST /jobs takes the seed body (§10) and GET /jobs/:id returns the job', async () => {
    const created = await call('POST', '/admin/jobs', {
      body: {
        job_id: 'buy-scanner',
        queue: `${fx.scope}.jobs.buy-scanner`,
        cron_expr: '*/5 * * * *',
        reschedule_mode: 'queue',
        interval_seconds: 300,
        description: 'Buy Scanner auto cycle',
        default_params: { scan_mode: 'swing' },
        enabled: true,
      },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      id: 'buy-scanner',
      queue: 'buy-scanner',
      reschedule: 'queue',
      enabled: true,
      description: 'Buy Scanner auto cycle',
    });
    const stored = await fx.store.getJob(fx.scope, 'buy-scanner');
    expect(stored).toMatchObject({ queue: 'buy-scanner', reschedule: 'queue', params: { scan_mode: 'swing' } });

    const got = await call('GET', '/admin/jobs/buy-scanner');
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: 'buy-scanner', job: { jobId: 'buy-scanner', scope: fx.scope } });
    const listed = await call('GET', '/admin/jobs');
    expect(listed.body.jobs.map((j: { id: string }) => j.id).sort()).toEqual(['buy-scanner', 'report']);
  });

  it('POST /jobs answers 400 naming the seed field for an invalid job, and for a foreign scope', async () => {
    const bad = await call('POST', '/admin/jobs', {
      body: { job_id: 'broken', queue: `${fx.scope}.jobs.x`, cron_expr: 'not a cron', enabled: true },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'ERR_INVALID_JOB', field: 'cron_expr' });
    const foreign = await call('POST', '/admin/jobs', { body: { job_id: 'other', queue: 'elsewhere.jobs.x', interval_seconds: 60 } });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'scope' });
    const empty = await call('POST', '/admin/jobs');
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('ERR_INVALID_JOB');
    expect(await fx.store.getJob(fx.scope, 'broken')).toBeNull();
  });

  it('PATCH /jobs/:id updates settings; a bad patch is a 400 naming the field', async () => {
    const patched = await call('PATCH', '/admin/jobs/report', { body: { description: 'patched over HTTP', params: { format: 'pdf' } } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: 'report', description: 'patched over HTTP' });
    expect(patched.body.overridden).toEqual(expect.arrayContaining(['description', 'params']));
    expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ description: 'patched over HTTP', params: { format: 'pdf' } });

    const bad = await call('PATCH', '/admin/jobs/report', { body: { maxParallel: -3 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toMatch(/^ERR_INVALID_/);
    expect(bad.body.error.field).toBe('maxParallel');
    // Retention over HTTP: a policy is stored on the job; a bad one is a JSON 400 naming the field.
    const kept = await call('PATCH', '/admin/jobs/report', { body: { retention: { keepLast: 100, maxAge: '7d' } } });
    expect(kept.status).toBe(200);
    expect((await fx.store.getJob(fx.scope, 'report'))?.retention).toEqual({ keepLast: 100, maxAgeMs: 7 * 86_400_000 });
    const badRetention = await call('PATCH', '/admin/jobs/report', { body: { retention: { keepLast: 0 } } });
    expect(badRetention.status).toBe(400);
    expect(badRetention.body.error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'retention.keepLast' });
    const missing = await call('PATCH', '/admin/jobs/nope', { body: { description: 'x' } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('ERR_JOB_NOT_FOUND');
  });

  it('pause and resume show in the store, with the note and the HTTP actor in the audit', async () => {
    const paused = await call('POST', '/admin/jobs/report/pause', { body: { note: 'maintenance window' } });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ id: 'report', paused: true, pauseNote: 'maintenance window' });
    expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: false, pauseNote: 'maintenance window' });

    const resumed = await call('POST', '/admin/jobs/report/resume');
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ paused: false });
    expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: true });

    const audit = await call('GET', '/admin/audit?jobId=report&limit=10');
    expect(audit.status).toBe(200);
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['pause', 'resume', 'update']));
    const pause = audit.body.entries.find((e: { action: string }) => e.action === 'pause');
    expect(pause.actor).toMatch(/^http:(::ffff:)?127\.0\.0\.1$/);
    expect(pause.details).toMatchObject({ note: 'maintenance window' });
  });

  it('pause and resume refuse unknown body keys and wrong types', async () => {
    const extra = await call('POST', '/admin/jobs/report/pause', { body: { note: 'x', until: 'tomorrow' } });
    expect(extra.status).toBe(400);
    expect(extra.body.error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'until' });
    const wrongType = await call('POST', '/admin/jobs/report/pause', { body: { note: 42 } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'note' });
    expect(wrongType.body.error.message).toContain('got 42');
    const resumeBody = await call('POST', '/admin/jobs/report/resume', { body: { force: true } });
    expect(resumeBody.status).toBe(400);
    expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: true });
  });

  it('POST /jobs/:id/run-now records a manual run that a worker executes; GET runs shows it', async () => {
    const answer = await call('POST', '/admin/jobs/report/run-now', { body: { params: { reason: 'http' } } });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      jobId: 'report',
      triggerSource: 'manual',
      status: 'pending',
      params: { format: 'pdf', reason: 'http' },
    });
    const runId: string = answer.body.runId;
    await waitFor(() => fx.executions.find((e) => e.runId === runId), 'the worker to execute the manual run');
    expect(fx.executions.find((e) => e.runId === runId)).toMatchObject({ trigger: 'manual', params: { format: 'pdf', reason: 'http' } });
    await waitFor(async () => (await fx.store.getRun(runId))?.status === 'succeeded', 'the run to be recorded succeeded');

    const runs = await call('GET', '/admin/jobs/report/runs?limit=5');
    expect(runs.status).toBe(200);
    expect(runs.body.runs.find((r: { runId: string }) => r.runId === runId)).toMatchObject({
      status: 'succeeded',
      triggerSource: 'manual',
    });
    const succeeded = await call('GET', '/admin/jobs/report/runs?status=succeeded,failed');
    expect(succeeded.body.runs.length).toBeGreaterThanOrEqual(1);
    expect(succeeded.body.runs.every((r: { status: string }) => r.status === 'succeeded')).toBe(true);
  });

  it('run-now with a delay is not available before it; bad params and delays are 400s', async () => {
    const before = Date.now();
    const delayed = await call('POST', '/admin/jobs/report/run-now', { body: { delay: '1h' } });
    expect(delayed.status).toBe(202);
    expect(Date.parse(delayed.body.availableAt)).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect((await fx.store.getRun(delayed.body.runId))?.status).toBe('pending');

    const badParams = await call('POST', '/admin/jobs/report/run-now', { body: { params: [1, 2] } });
    expect(badParams.status).toBe(400);
    expect(badParams.body.error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'params' });
    const badDelay = await call('POST', '/admin/jobs/report/run-now', { body: { delay: 'soon' } });
    expect(badDelay.status).toBe(400);
    expect(badDelay.body.error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'delay' });
    const unknown = await call('POST', '/admin/jobs/ghost/run-now');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'ERR_JOB_NOT_FOUND' });
  });

  it('POST /jobs/:id/backfill creates the slots once; a bad range is a 400', async () => {
    // Slots 2022-01-01, 2023-01-01 and 2024-01-01.
    const from = new Date('2021-06-01T00:00:00Z');
    const to = new Date('2024-06-01T00:00:00Z');
    const first = await call('POST', '/admin/jobs/report/backfill', { body: { from: from.toISOString(), to: to.toISOString() } });
    expect(first.status).toBe(200);
    expect(first.body.slots).toBe(3);
    expect(first.body.inserted).toHaveLength(3);
    expect(first.body.inserted.every((r: { triggerSource: string }) => r.triggerSource === 'backfill')).toBe(true);
    expect(first.body.inserted.map((r: { scheduledFor: string }) => r.scheduledFor).sort()).toEqual([
      '2022-01-01T00:00:00.000Z',
      '2023-01-01T00:00:00.000Z',
      '2024-01-01T00:00:00.000Z',
    ]);
    const stored = await fx.store.listRuns(fx.scope, { jobId: 'report', limit: 100 });
    expect(stored.filter((r) => r.triggerSource === 'backfill')).toHaveLength(3);

    const again = await call('POST', '/admin/jobs/report/backfill', { body: { from: from.toISOString(), to: to.toISOString() } });
    expect(again.body).toMatchObject({ slots: 3, inserted: [] });
    const reversed = await call('POST', '/admin/jobs/report/backfill', { body: { from: to.toISOString(), to: from.toISOString() } });
    expect(reversed.status).toBe(400);
    expect(reversed.body.error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'to' });
    const missing = await call('POST', '/admin/jobs/report/backfill', { body: { from: from.toISOString() } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ field: 'to' });
    expect(missing.body.error.message).toContain('got nothing');
  });

  it('DELETE /jobs/:id removes the job: 204, then 404', async () => {
    const removed = await call('DELETE', '/admin/jobs/buy-scanner');
    expect(removed.status).toBe(204);
    expect(removed.body).toBeUndefined();
    expect(await fx.store.getJob(fx.scope, 'buy-scanner')).toBeNull();
    const again = await call('DELETE', '/admin/jobs/buy-scanner');
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('ERR_JOB_NOT_FOUND');
    const got = await call('GET', '/admin/jobs/buy-scanner');
    expect(got.status).toBe(404);
    const audit = await call('GET', '/admin/audit?jobId=buy-scanner');
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['create', 'remove']));
  });

  it('answers 401 without or with a wrong token, before revealing any route', async () => {
    for (const token of [null, 'wrong-token', `${TOKEN}x`, '']) {
      const answer = await call('GET', '/admin/jobs', { token });
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('ERR_UNAUTHORIZED');
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const basic = await call('GET', '/admin/jobs', {
      token: null,
      headers: { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
    });
    expect(basic.status).toBe(401);
    const unknownRoute = await call('GET', '/admin/nowhere', { token: null });
    expect(unknownRoute.status).toBe(401);
    const paused = await call('POST', '/admin/jobs/report/pause', { token: 'nope', body: { note: 'x' } });
    expect(paused.status).toBe(401);
    expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: true });
  });

  it('answers 404 for unknown routes and paths outside basePath, 405 with Allow for wrong methods, 410 for last-run', async () => {
    const unknown = await call('GET', '/admin/nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ERR_ROUTE_NOT_FOUND');
    const outside = await call('GET', '/jobs');
    expect(outside.status).toBe(404);
    const deep = await call('GET', '/admin/jobs/report/runs/extra');
    expect(deep.status).toBe(404);

    const wrong = await call('PUT', '/admin/jobs/report', { body: {} });
    expect(wrong.status).toBe(405);
    expect(wrong.body.error.code).toBe('ERR_METHOD_NOT_ALLOWED');
    expect(wrong.headers.get('allow')).toBe('GET, PATCH, DELETE, HEAD');
    const getPause = await call('GET', '/admin/jobs/report/pause');
    expect(getPause.status).toBe(405);
    expect(getPause.headers.get('allow')).toBe('POST');

    const lastRun = await call('POST', '/admin/jobs/report/last-run', { body: {} });
    expect(lastRun.status).toBe(410);
    expect(lastRun.body.error.code).toBe('ERR_GONE');
    expect(lastRun.body.error.message).toMatch(/workers record/);
  });

  it('answers 400 for malformed JSON, a non-JSON content type, a bad limit or a bad status', async () => {
    const malformed = await call('POST', '/admin/jobs', { raw: '{"job_id": ', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('ERR_INVALID_JSON');
    const form = await call('POST', '/admin/jobs/report/pause', {
      raw: 'note=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(400);
    expect(form.body.error.code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: true });
    for (const limit of ['0', 'ten', '-1', '10001', '1.5']) {
      const answer = await call('GET', `/admin/jobs/report/runs?limit=${limit}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'limit' });
    }
    const auditLimit = await call('GET', '/admin/audit?limit=abc');
    expect(auditLimit.body.error).toMatchObject({ field: 'limit' });
    const status = await call('GET', '/admin/jobs/report/runs?status=exploded');
    expect(status.status).toBe(400);
    expect(status.body.error).toMatchObject({ field: 'status' });
    const badPath = await call('GET', '/admin/jobs/%E0%A4%A');
    expect(badPath.status).toBe(400);
  });

  it('answers 413 for a body over maxBodyBytes, declared or streamed, and keeps serving', async () => {
    const big = JSON.stringify({ note: 'x'.repeat(70 * 1024) });
    const declared = await call('POST', '/admin/jobs/report/pause', { raw: big, headers: { 'content-type': 'application/json' } });
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('ERR_BODY_TOO_LARGE');

    // Chunked, without Content-Length: the limit is enforced while reading.
    const { port, hostname } = new URL(server.url);
    const streamed = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request(
        {
          host: hostname,
          port,
          method: 'POST',
          path: '/admin/jobs/report/pause',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('x'.repeat(8 * 1024));
      req.end();
    });
    expect(streamed.status).toBe(413);
    expect(streamed.body.error.code).toBe('ERR_BODY_TOO_LARGE');
    expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: true });
    expect((await call('GET', '/admin/jobs')).status).toBe(200);
  });

  it('answers 500 without leaking the cause, and logs it', async () => {
    // The real scheduler, with one method failing the way a driver error would.
    const s = fx.scheduler;
    const failing: Control = {
      list: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2')),
      get: (id) => s.get(id),
      upsert: (body, o) => s.upsert(body, o),
      update: (id, patch, o) => s.update(id, patch, o),
      remove: (id, o) => s.remove(id, o),
      pause: (id, o) => s.pause(id, o),
      resume: (id, o) => s.resume(id, o),
      runNow: (id, o) => s.runNow(id, o),
      runs: (id, o) => s.runs(id, o),
      backfill: (id, o) => s.backfill(id, o),
      audit: (o) => s.audit(o),
    };
    const other = await listen(
      createAdminHandler({ control: failing, token: TOKEN, logger: { error: (message) => logged.push(message) } }),
    );
    try {
      const response = await fetch(`${other.url}/jobs`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(JSON.parse(text).error.code).toBe('ERR_INTERNAL');
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('ECONNREFUSED');
      expect(logged.some((line) => line.includes('ECONNREFUSED'))).toBe(true);
      // The other methods still reach the real scheduler.
      const job = await fetch(`${other.url}/jobs/report`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(job.status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('records a header-provided user as the actor when configured', async () => {
    const other = await listen(createAdminHandler({ control: fx.scheduler, actorHeader: 'X-Forwarded-User' }));
    try {
      const response = await fetch(`${other.url}/jobs/report/run-now`, {
        method: 'POST',
        headers: { 'x-forwarded-user': 'alice@example.com' },
      });
      expect(response.status).toBe(202);
      const { runId } = (await response.json()) as { runId: string };
      const entries = await fx.scheduler.audit({ jobId: 'report', limit: 20 });
      expect(entries.find((e) => e.action === 'run-now' && e.details.runId === runId)?.actor).toBe('alice@example.com');
    } finally {
      await other.close();
    }
  });

  it('mounts like Express middleware: a stripped mount path and a body parsed before it', async () => {
    const admin = createAdminHandler({ control: fx.scheduler, token: TOKEN });
    // What `app.use(express.json()); app.use('/ops/scheduler', admin)` does to the request.
    const framework = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        (req as http.IncomingMessage & { body?: unknown }).body = text === '' ? {} : JSON.parse(text);
        if (!req.url?.startsWith('/ops/scheduler')) {
          res.statusCode = 404;
          res.end('framework 404');
          return;
        }
        req.url = req.url.slice('/ops/scheduler'.length) || '/';
        admin(req, res);
      });
    });
    await new Promise<void>((resolve) => framework.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(framework.address() as AddressInfo).port}/ops/scheduler`;
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    try {
      const paused = await fetch(`${base}/jobs/report/pause`, { method: 'POST', headers, body: JSON.stringify({ note: 'via framework' }) });
      expect(paused.status).toBe(200);
      expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: false, pauseNote: 'via framework' });
      const resumed = await fetch(`${base}/jobs/report/resume`, { method: 'POST', headers });
      expect(resumed.status).toBe(200);
      expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: true });
      const head = await fetch(`${base}/jobs`, { method: 'HEAD', headers });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toMatch(/^application\/json/);
    } finally {
      framework.closeAllConnections();
      await new Promise<void>((resolve) => framework.close(() => resolve()));
    }
  });

  it('rejects bad options at construction with ERR_INVALID_OPTION naming the option', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ control: {} }, 'control'],
      [{ control: fx.scheduler, token: 'short' }, 'token'],
      [{ control: fx.scheduler, basePath: 'admin/' }, 'basePath'],
      [{ control: fx.scheduler, maxBodyBytes: 0 }, 'maxBodyBytes'],
      [{ control: fx.scheduler, tokne: TOKEN }, 'tokne'],
    ];
    for (const [options, field] of cases) {
      let caught: unknown;
      try {
        createAdminHandler(options as never);
      } catch (error) {
        caught = error;
      }
      expect(isWarrenError(caught, 'ERR_INVALID_OPTION')).toBe(true);
      expect((caught as { field: string }).field).toBe(field);
      expect((caught as Error).message).toContain(`\`${field}\``);
    }
  });
});
