/**
 * runNow never conflicts with itself: 1,000 calls at the same moment in one process, and
 * 1,000 through the admin HTTP API, are all recorded and each run executes exactly once.
 * (Before migration 2 a manual run's key was derived from `now` with a few milliseconds
 * of shifts: 300 concurrent calls failed 128 times with ERR_CONFLICT.)
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminHandler } from '../../src/http/index.js';
import type { RunRecord } from '../../src/store/port.js';
import { waitFor } from '../helpers/wait.js';
import { adapterFixture, report, type AdapterFixture } from '../adapters/setup.js';

const CALLS = 1000;
const TOKEN = 'run-now-burst-token-0123456789';

let fx: AdapterFixture;
let server: http.Server;
let base: string;

beforeAll(async () => {
  fx = await adapterFixture('run-now-burst');
  await fx.worker.ready();
  server = http.createServer(createAdminHandler({ control: fx.scheduler, token: TOKEN }));
  // Keep-alive sockets: 1,000 requests at once would otherwise open 1,000 connections.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  await fx?.teardown();
});

async function executedOnce(runs: RunRecord[]): Promise<void> {
  const ids = new Set(runs.map((r) => r.runId));
  expect(ids.size).toBe(CALLS);
  await waitFor(() => fx.executions.filter((e) => ids.has(e.runId)).length >= CALLS, `${CALLS} executions`, { timeoutMs: 240_000 });
  const perRun = new Map<string, number>();
  for (const e of fx.executions) if (ids.has(e.runId)) perRun.set(e.runId, (perRun.get(e.runId) ?? 0) + 1);
  expect(perRun.size).toBe(CALLS);
  expect([...perRun.values()].every((n) => n === 1)).toBe(true);
  // Results are written in batches after the handlers return: wait for the rows.
  const mine = await waitFor(
    async () => {
      const stored = (await fx.store.listRuns(fx.scope, { jobId: report.id, limit: 10_000 })).filter((r) => ids.has(r.runId));
      return stored.length === CALLS && stored.every((r) => r.status !== 'pending' && r.status !== 'running') && stored;
    },
    `${CALLS} results recorded`,
    { timeoutMs: 120_000 },
  );
  expect(mine.filter((r) => !(r.status === 'succeeded' && r.triggerSource === 'manual' && r.attempt === 1))).toEqual([]);
}

describe('runNow under a burst', () => {
  it(`${CALLS} concurrent calls in one process: every run recorded and executed once`, async () => {
    const results = await Promise.allSettled(Array.from({ length: CALLS }, (_, i) => fx.scheduler.runNow(report.id, { params: { i } })));
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    await executedOnce(results.map((r) => (r as PromiseFulfilledResult<RunRecord>).value));
  }, 300_000);

  it(`${CALLS} concurrent calls through HTTP: every answer 202, every run executed once`, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    const post = (i: number) =>
      new Promise<{ status: number; body: RunRecord }>((resolve, reject) => {
        const req = http.request(
          `${base}/jobs/${report.id}/run-now`,
          { method: 'POST', agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as RunRecord }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ params: { i } }));
      });
    try {
      const answers = await Promise.all(Array.from({ length: CALLS }, (_, i) => post(i)));
      expect(answers.filter((a) => a.status !== 202)).toEqual([]);
      await executedOnce(answers.map((a) => a.body));
    } finally {
      agent.destroy();
    }
  }, 300_000);
});
