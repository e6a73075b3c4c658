import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { MAX_MESSAGE_BYTES, messageForRun, type JobMessage } from '../../src/broker/envelope.js';
import { uuidv5 } from '../../src/util/uuid.js';
import { createWorker } from '../../src/worker/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { workerFixture, type WorkerFixture } from './setup.js';

let f: WorkerFixture;

beforeAll(async () => {
  f = await workerFixture('wbad');
});

afterAll(async () => {
  await f?.teardown();
});

describe('malformed and unknown messages', () => {
  it('each of ten kinds reaches the dead-letter queue with its reason, and the next good message runs', async () => {
    const job = defineJob({ id: 'sink', overlap: 'allowAll' });
    const ran: string[] = [];
    const worker = f.track(
      createWorker({
        pool: f.pool,
        schema: f.schema,
        amqpUrl: AMQP_URL,
        scope: f.scope,
        jobs: [{ definition: job, handler: async (ctx) => void ran.push(ctx.runId) }],
      }),
    );
    await worker.start();
    await worker.ready();
    const [template] = await f.enqueue(job, [{}]);
    await waitFor(() => ran.length === 1, 'the first good run');
    const good: JobMessage = messageForRun(template!, {
      timeoutMs: job.config.timeoutMs,
      maxAttempts: job.config.retry.maxAttempts,
      nextDelaySec: null,
    });
    const json = (value: unknown) => Buffer.from(JSON.stringify(value));
    const { run_id: _omit, ...withoutRunId } = good;
    const cases: Array<{ name: string; body: Buffer; reason: RegExp }> = [
      { name: 'not JSON', body: Buffer.from('{"job_id": "sink",'), reason: /malformed message: not JSON/ },
      { name: 'empty body', body: Buffer.alloc(0), reason: /malformed message: not JSON/ },
      { name: 'wrong types', body: json({ ...good, attempt: 'one' }), reason: /malformed message: invalid message field `attempt`/ },
      { name: 'missing run_id', body: json(withoutRunId), reason: /malformed message: invalid message field `run_id`/ },
      { name: 'bad uuid', body: json({ ...good, run_id: 'not-a-uuid' }), reason: /malformed message: invalid message field `run_id`/ },
      { name: 'unknown job', body: json({ ...good, job_id: 'nobody-handles-this' }), reason: /unknown job nobody-handles-this/ },
      {
        name: 'oversized params',
        body: json({ ...good, params: { blob: 'x'.repeat(MAX_MESSAGE_BYTES) } }),
        reason: /malformed message: message too large/,
      },
      { name: 'wrong scope', body: json({ ...good, scope: 'someone-else' }), reason: /wrong scope "someone-else"/ },
      { name: 'unknown version', body: json({ ...good, v: 2 }), reason: /malformed message: invalid message field `v`/ },
      { name: 'unknown run id', body: json({ ...good, run_id: uuidv5(`${f.scope}|never-inserted`) }), reason: /unknown run / },
    ];
    const reasons: string[] = [];
    worker.on('message:dead-lettered', ({ reason }) => reasons.push(reason));
    for (const c of cases) await f.transport.publish(f.workQueue(job), c.body, { messageId: `bad-${c.name}` });
    // The consumer carried on: a good message published after all of them still runs.
    const [next] = await f.enqueue(job, [{}]);
    await waitFor(() => ran.includes(next!.runId), 'the good message after the bad ones');
    const dead = await waitFor(async () => {
      const got = await f.admin.drain(f.deadQueue(job));
      return got.length > 0 ? got : null;
    }, 'dead letters');
    while (dead.length < cases.length) {
      dead.push(
        ...(await waitFor(async () => {
          const got = await f.admin.drain(f.deadQueue(job));
          return got.length > 0 ? got : null;
        }, `${cases.length} dead letters (have ${dead.length})`)),
      );
    }
    expect(dead).toHaveLength(cases.length);
    for (const c of cases) {
      const msg = dead.find((m) => m.properties.headers?.['x-warren-message-id'] === `bad-${c.name}`);
      expect(msg, c.name).toBeDefined();
      expect(msg!.properties.messageId, `${c.name}: the AMQP message id is kept`).toBe(`bad-${c.name}`);
      expect(String(msg!.properties.headers?.['x-warren-reason']), c.name).toMatch(c.reason);
      expect(msg!.content.equals(c.body), `${c.name}: the body is kept as it was`).toBe(true);
    }
    expect(reasons).toHaveLength(cases.length);
    expect(worker.stats().deadLettered).toBe(cases.length);
    expect(ran).toHaveLength(2);
    await worker.close();
  });
});
