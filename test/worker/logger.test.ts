/**
 * The host's logger gets warren's lines in its own argument order: a real pino instance
 * (writing JSON lines to a stream) sees every line of a run with job_id, run_id, scope,
 * trigger_source and attempt; a winston-style logger gets (message, fields).
 */
import { Writable } from 'node:stream';
import createDebug from 'debug';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { createWorker } from '../../src/worker/index.js';
import { createLog, detectLoggerStyle } from '../../src/util/logger.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { workerFixture, type WorkerFixture } from './setup.js';

let f: WorkerFixture;

beforeAll(async () => {
  f = await workerFixture('wlog');
});

afterAll(async () => {
  await f?.teardown();
});

/** A real pino logger whose JSON lines are parsed into `lines`. */
function pinoCapture(): { logger: pino.Logger; lines: Array<Record<string, unknown>>; raw: string[] } {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') {
          raw.push(line);
          lines.push(JSON.parse(line) as Record<string, unknown>);
        }
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, raw };
}

describe('logger adapter with a real pino instance', () => {
  it("writes the handler's and the worker's lines of a run with its ids as JSON fields", async () => {
    const job = defineJob({ id: 'logged', retry: { maxAttempts: 2, backoff: { type: 'fixed', delay: '1s' } } });
    const { logger, lines } = pinoCapture();
    const worker = f.track(
      createWorker({
        pool: f.pool,
        schema: f.schema,
        amqpUrl: AMQP_URL,
        scope: f.scope,
        logger,
        jobs: [
          {
            definition: job,
            handler: async (ctx: any) => {
              ctx.log.info('scanning', { symbol: 'AAPL' });
              if (ctx.attempt === 1) throw new Error('flaky upstream');
            },
          },
        ],
      }),
    );
    await worker.start();
    await worker.ready();
    const [run] = await f.enqueue(job, [{}]);
    await waitFor(async () => (await f.store.getRun(run!.runId))?.status === 'succeeded', 'the run to succeed on its second attempt');
    await worker.close();

    const ofRun = lines.filter((line) => line.run_id === run!.runId);
    const scanning = ofRun.filter((line) => line.msg === 'scanning');
    expect(scanning.map((line) => line.attempt)).toEqual([1, 2]);
    expect(scanning[0]).toMatchObject({
      level: 30,
      job_id: 'logged',
      scope: f.scope,
      trigger_source: 'manual',
      symbol: 'AAPL',
      worker_id: worker.workerId,
    });
    const retry = ofRun.find((line) => line.msg === 'run failed; retrying');
    expect(retry).toMatchObject({
      level: 40,
      job_id: 'logged',
      run_id: run!.runId,
      scope: f.scope,
      trigger_source: 'manual',
      attempt: 1,
      error: 'flaky upstream',
    });
    // Every line about the run carries all five fields.
    for (const line of ofRun)
      expect(Object.keys(line)).toEqual(expect.arrayContaining(['job_id', 'run_id', 'scope', 'trigger_source', 'attempt']));
  });
});

describe('createLog', () => {
  const debug = createDebug('warren:test');

  it('tells pino from winston-style loggers', () => {
    expect(detectLoggerStyle(pinoCapture().logger)).toBe('pino');
    expect(detectLoggerStyle(console)).toBe('winston');
    expect(detectLoggerStyle({ levels: { error: 0, info: 2 }, info() {} })).toBe('winston');
  });

  it('calls a winston-style logger (message, fields) and an explicit pino style (fields, message)', () => {
    const calls: unknown[][] = [];
    const host = { info: (...args: unknown[]) => void calls.push(args) };
    createLog({ debug, logger: host, fields: { scope: 's' } })
      .child({ run_id: 'r' })
      .info('hello', { n: 1 });
    createLog({ debug, logger: host, style: 'pino', fields: { scope: 's' } }).info('hello');
    expect(calls).toEqual([
      ['hello', { scope: 's', run_id: 'r', n: 1 }],
      [{ scope: 's' }, 'hello'],
    ]);
  });

  it('does not repeat a field a pino logger already binds with the same value', () => {
    const { logger, lines, raw } = pinoCapture();
    const host = logger.child({ scope: 's', service: 'scanner' });
    createLog({ debug, logger: host, fields: { scope: 's', instance_id: 'i1' } }).info('hello', { n: 1 });
    createLog({ debug, logger: host, fields: { scope: 'other' } }).info('differs');
    expect(lines[0]).toMatchObject({ scope: 's', service: 'scanner', instance_id: 'i1', n: 1, msg: 'hello' });
    // A repeated key shows up twice in the line's text (parsing keeps only one of them).
    expect(raw[0]!.match(/"scope"/g)).toHaveLength(1);
    expect(lines[1]).toMatchObject({ scope: 'other', msg: 'differs' });
  });

  it('survives a throwing logger and one that lacks a level', () => {
    const log = createLog({
      debug,
      logger: {
        error: () => {
          throw new Error('disk full');
        },
      },
    });
    expect(() => log.error('x')).not.toThrow();
    expect(() => log.debug('y')).not.toThrow();
  });
});
