/**
 * The admin client's own behaviour: options, how every kind of failure comes back (the
 * server's 400/401/404/405/413 answers, a closed port, no answer, an answer that is not the
 * admin API's), the token's and the actor's way over the wire, and close().
 */
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWarrenError, type WarrenError } from '../../src/errors.js';
import { createAdminClient, createAdminHandler, type AdminClient } from '../../src/http/index.js';
import { realScheduler, type RealScheduler } from '../contract/control-fixtures.js';
import { rejectionOf } from '../helpers/errors.js';
import { listen } from '../helpers/listen.js';

const TOKEN = 'client-token-0123456789abcdef';

const failure = rejectionOf;

function job(scope: string, id: string, description = 'yearly'): Record<string, unknown> {
  return { job_id: id, queue: `${scope}.jobs.reports`, cron_expr: '0 0 1 1 *', description };
}

describe('createAdminClient options', () => {
  const cases: Array<[string, string, unknown]> = [
    ['a url that is no URL', 'url', { url: 'not a url' }],
    ['a url that is not http(s)', 'url', { url: 'ftp://127.0.0.1/admin' }],
    ['a url with credentials', 'url', { url: `http://user:${TOKEN}@127.0.0.1/admin` }],
    ['a url with a query', 'url', { url: `http://127.0.0.1/admin?token=${TOKEN}` }],
    ['no url', 'url', {}],
    ['a token with a space', 'token', { url: 'http://127.0.0.1', token: 'a b' }],
    ['a timeout of 0', 'timeout', { url: 'http://127.0.0.1', timeout: 0 }],
    ['a fetch that is no function', 'fetch', { url: 'http://127.0.0.1', fetch: 'fetch' }],
    [
      'an Authorization header beside the token',
      'headers.authorization',
      { url: 'http://127.0.0.1', token: TOKEN, headers: { Authorization: 'Basic x' } },
    ],
    ['an unknown option', 'retries', { url: 'http://127.0.0.1', retries: 3 }],
  ];
  for (const [title, field, options] of cases) {
    it(`${title} → ERR_INVALID_OPTION naming \`${field}\``, () => {
      let error: unknown;
      try {
        createAdminClient(options as never);
      } catch (err) {
        error = err;
      }
      expect(isWarrenError(error, 'ERR_INVALID_OPTION'), String(error)).toBe(true);
      expect((error as WarrenError).field).toBe(field);
      expect((error as WarrenError).message).toContain(`\`${field}\``);
      // A rejected URL is never echoed with its secret.
      expect((error as WarrenError).message).not.toContain(TOKEN);
    });
  }

  it('keeps the base path and drops a trailing slash', () => {
    expect(createAdminClient({ url: 'https://ops.example.com/admin/' }).url).toBe('https://ops.example.com/admin');
  });
});

describe('createAdminClient over a real admin handler (PostgreSQL + RabbitMQ)', () => {
  let real: RealScheduler;
  let server: Awaited<ReturnType<typeof listen>>;
  let small: Awaited<ReturnType<typeof listen>>;
  let proxied: Awaited<ReturnType<typeof listen>>;
  let client: AdminClient;

  beforeAll(async () => {
    real = await realScheduler('client');
    server = await listen(createAdminHandler({ control: real.scheduler, token: TOKEN, basePath: '/admin' }));
    small = await listen(createAdminHandler({ control: real.scheduler, token: TOKEN, maxBodyBytes: 256 }));
    proxied = await listen(createAdminHandler({ control: real.scheduler, token: TOKEN, actorHeader: 'x-forwarded-user' }));
    client = createAdminClient({ url: `${server.url}/admin`, token: TOKEN });
    await client.upsert(job(real.scope, 'report'));
  });

  afterAll(async () => {
    await client?.close();
    for (const s of [server, small, proxied]) await s?.close();
    await real?.close();
  });

  it('400: an invalid argument comes back with the code, field and message of the server', async () => {
    const error = await failure(() => client.runs('report', { limit: 0 }));
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'limit', details: { status: 400 } });
    expect(error.message).toMatch(/^Invalid `limit`: expected an integer in 1\.\.10000/);
  });

  it('401: a wrong token is ERR_UNAUTHORIZED', async () => {
    const stranger = createAdminClient({ url: `${server.url}/admin`, token: 'not-the-token-0123456789' });
    const error = await failure(() => stranger.list());
    expect(error).toMatchObject({ code: 'ERR_UNAUTHORIZED', message: 'Invalid bearer token', details: { status: 401 } });
    const anonymous = createAdminClient({ url: `${server.url}/admin` });
    expect(await failure(() => anonymous.list())).toMatchObject({ code: 'ERR_UNAUTHORIZED', details: { status: 401 } });
  });

  it('404: a missing job is ERR_JOB_NOT_FOUND; a wrong base path is ERR_ROUTE_NOT_FOUND', async () => {
    expect(await failure(() => client.get('nope'))).toMatchObject({ code: 'ERR_JOB_NOT_FOUND', field: 'id', details: { status: 404 } });
    const lost = createAdminClient({ url: `${server.url}/elsewhere`, token: TOKEN });
    expect(await failure(() => lost.list())).toMatchObject({ code: 'ERR_ROUTE_NOT_FOUND', details: { status: 404 } });
  });

  it('405: a method the route does not take is ERR_METHOD_NOT_ALLOWED', async () => {
    // A fetch that swaps the method stands in for a server whose route changed under the client.
    const swapped = createAdminClient({
      url: `${server.url}/admin`,
      token: TOKEN,
      fetch: (input, init) => fetch(input, { ...init, method: 'PUT' }),
    });
    const error = await failure(() => swapped.get('report'));
    expect(error).toMatchObject({ code: 'ERR_METHOD_NOT_ALLOWED', details: { status: 405 } });
    expect(error.message).toContain('PUT is not allowed here');
  });

  it("413: a body over the server's limit is ERR_BODY_TOO_LARGE, and nothing is written", async () => {
    const limited = createAdminClient({ url: small.url, token: TOKEN });
    const error = await failure(() => limited.upsert(job(real.scope, 'big', 'x'.repeat(1000))));
    expect(error).toMatchObject({ code: 'ERR_BODY_TOO_LARGE', details: { status: 413 } });
    expect(await failure(() => client.get('big'))).toMatchObject({ code: 'ERR_JOB_NOT_FOUND' });
  });

  it('a closed port on 127.0.0.1 is ERR_UNREACHABLE, naming the cause but never the token', async () => {
    const gone = await listen(() => {});
    await gone.close();
    const error = await failure(() => createAdminClient({ url: gone.url, token: TOKEN }).list());
    expect(error.code).toBe('ERR_UNREACHABLE');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain(`GET ${gone.url}/jobs`);
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(TOKEN);
  });

  it('no answer within the timeout is ERR_TIMEOUT', async () => {
    const held: http.ServerResponse[] = [];
    const silent = await listen((_req, res) => {
      held.push(res);
    });
    try {
      const error = await failure(() => createAdminClient({ url: silent.url, token: TOKEN, timeout: '200ms' }).list());
      expect(error.code).toBe('ERR_TIMEOUT');
      expect(error.message).toContain('no answer within 200ms');
      expect(held).toHaveLength(1);
    } finally {
      await silent.close();
    }
  });

  it("an answer that is not the admin API's is ERR_UNEXPECTED_RESPONSE", async () => {
    const answers: Array<[number, string, string]> = [
      [502, 'text/html', '<html>Bad Gateway</html>'],
      [200, 'application/json', '{"jobs": 5}'],
      [200, 'application/json', '{"jobs": [{"id": "x", "nextDueAt": "someday"}]}'],
      [200, 'application/json', 'not json'],
      [500, 'application/json', '{"oops": true}'],
    ];
    let next = 0;
    const odd = await listen((_req, res) => {
      const [status, type, body] = answers[next++]!;
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    });
    try {
      const oddClient = createAdminClient({ url: odd.url, token: TOKEN });
      for (const [status] of answers) {
        const error = await failure(() => oddClient.list());
        expect(error.code, `HTTP ${status}`).toBe('ERR_UNEXPECTED_RESPONSE');
        expect(error.message).toContain('not an answer of the warren admin API');
      }
    } finally {
      await odd.close();
    }
  });

  it('sends the token as a bearer header only, and the actor as a URI-encoded header', async () => {
    const seen: Array<{ url: string | undefined; headers: http.IncomingHttpHeaders }> = [];
    const spy = await listen((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"entries": []}');
    });
    try {
      await createAdminClient({ url: spy.url, token: TOKEN }).audit({ jobId: 'report', limit: 5 });
      expect(seen[0]!.url).toBe('/audit?jobId=report&limit=5');
      expect(seen[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(seen[0]!.url).not.toContain(TOKEN);
    } finally {
      await spy.close();
    }
    // Through the real handler: a non-ASCII actor survives the trip into the audit.
    await client.pause('report', { note: 'n', actor: 'telegram:Jörg ✓' });
    await client.resume('report');
    const [resume, pause] = await client.audit({ jobId: 'report', limit: 2 });
    expect(pause).toMatchObject({ action: 'pause', actor: 'telegram:Jörg ✓' });
    // Without an actor, the server records where the call came from.
    expect(resume!.actor).toMatch(/^http:/);
  });

  it("an authenticating proxy's user header wins over the actor the client names", async () => {
    const behindProxy = createAdminClient({ url: proxied.url, token: TOKEN, headers: { 'x-forwarded-user': 'alice' } });
    await behindProxy.pause('report', { actor: 'mallory' });
    await behindProxy.resume('report');
    expect((await client.audit({ jobId: 'report', limit: 2 })).map((e) => e.actor)).toEqual(['alice', 'alice']);
  });

  it('close() fails the calls in flight with ERR_CLOSED and refuses new ones', async () => {
    const silent = await listen(() => {});
    try {
      const closing = createAdminClient({ url: silent.url, token: TOKEN });
      const pending = failure(() => closing.list());
      await closing.close();
      expect((await pending).code).toBe('ERR_CLOSED');
      expect((await failure(() => closing.get('report'))).code).toBe('ERR_CLOSED');
    } finally {
      await silent.close();
    }
  });
});
