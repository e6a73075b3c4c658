import { describe, expect, it } from 'vitest';
import type { JobConfig } from '../../src/define/types.js';
import { isWarrenError } from '../../src/errors.js';
import type { Store } from '../../src/store/port.js';
import { type ContractContext, T0, at, ctx, jobConfig, newRun, runId, seedJob } from './store-fixtures.js';

const BAD_DATE = new Date(Number.NaN);

/**
 * Reading of issue 2 ("each invalid store call"): the store checks its arguments at the
 * boundary and fails with ERR_INVALID_ARGUMENT whose `field` (and message) name the
 * argument, as a dotted path, before anything is written.
 */
export function inputContract(c: ContractContext): void {
  describe('bad input', () => {
    const cases: Array<[string, string, (store: Store, scope: string) => Promise<unknown>]> = [
      ['syncJob: invalid scope', 'scope', (s) => s.syncJob('Bad Scope!', 'a', jobConfig(), { now: T0, nextDueAt: null })],
      ['syncJob: invalid job id', 'jobId', (s, scope) => s.syncJob(scope, '', jobConfig(), { now: T0, nextDueAt: null })],
      [
        'syncJob: config without a key',
        'config.queue',
        (s, scope) => {
          const { queue: _q, ...rest } = jobConfig();
          return s.syncJob(scope, 'a', rest as JobConfig, { now: T0, nextDueAt: null });
        },
      ],
      [
        'syncJob: a queue name RabbitMQ rejects',
        'config.queue',
        (s, scope) => s.syncJob(scope, 'a', jobConfig({ queue: 'amq.reserved' }), { now: T0, nextDueAt: null }),
      ],
      ['syncJob: invalid now', 'opts.now', (s, scope) => s.syncJob(scope, 'a', jobConfig(), { now: BAD_DATE, nextDueAt: null })],
      [
        'upsertJob: invalid nextDueAt',
        'opts.nextDueAt',
        (s, scope) => s.upsertJob(scope, 'a', jobConfig(), { now: T0, nextDueAt: 'tomorrow' as unknown as Date }),
      ],
      ['updateJob: unknown setting', 'patch.bogus', (s, scope) => s.updateJob(scope, 'a', { bogus: 1 } as Partial<JobConfig>, { now: T0 })],
      ['setEnabled: not a boolean', 'enabled', (s, scope) => s.setEnabled(scope, 'a', 'yes' as unknown as boolean, { now: T0 })],
      ['removeJob: invalid now', 'now', (s, scope) => s.removeJob(scope, 'a', BAD_DATE)],
      ['cancelClaimedAhead: invalid after', 'after', (s, scope) => s.cancelClaimedAhead(scope, 'a', BAD_DATE, 'why', new Date())],
      ['cancelClaimedAhead: invalid reason', 'reason', (s, scope) => s.cancelClaimedAhead(scope, 'a', new Date(), 42 as never, new Date())],
      ['dueJobs: limit 0', 'limit', (s, scope) => s.dueJobs(scope, T0, 0)],
      ['dueJobs: invalid before', 'before', (s, scope) => s.dueJobs(scope, BAD_DATE, 10)],
      ['listRuns: negative limit', 'opts.limit', (s, scope) => s.listRuns(scope, { limit: -1 })],
      [
        'insertRuns: run id not a uuid',
        'runs[0].runId',
        (s, scope) => s.insertRuns(scope, [newRun({ jobId: 'a', epoch: 1 }, 'not-a-uuid')], T0),
      ],
      [
        'insertRuns: invalid scheduledFor',
        'runs[1].scheduledFor',
        (s, scope) =>
          s.insertRuns(
            scope,
            [
              newRun({ jobId: 'a', epoch: 1 }, runId(scope, 'ok')),
              newRun({ jobId: 'a', epoch: 1 }, runId(scope, 'bad'), { scheduledFor: BAD_DATE }),
            ],
            T0,
          ),
      ],
      [
        'claimSlots: invalid job id',
        'claims[0].jobId',
        (s, scope) => s.claimSlots(scope, null, [{ jobId: 'Not Valid', expectedNextDueAt: null, nextDueAt: null, runs: [] }], T0),
      ],
      ['runningCounts: not an array', 'jobIds', (s, scope) => s.runningCounts(scope, 'a' as unknown as string[], T0)],
      ['runningCounts: invalid job id', 'jobIds[1]', (s, scope) => s.runningCounts(scope, ['a', 'Not Valid'], T0)],
      ['runningCounts: invalid now', 'now', (s, scope) => s.runningCounts(scope, ['a'], BAD_DATE)],
      ['runSummaries: invalid job id', 'jobIds[0]', (s, scope) => s.runSummaries(scope, ['Not Valid'], T0, 20)],
      ['runSummaries: recent 0', 'recent', (s, scope) => s.runSummaries(scope, ['a'], T0, 0)],
      ['claimRuns: attempt 0', 'requests[0].attempt', (s, scope) => s.claimRuns([{ runId: runId(scope, 'r'), attempt: 0 }], ctx(T0))],
      ['claimRuns: lease 0', 'ctx.leaseMs', (s, scope) => s.claimRuns([{ runId: runId(scope, 'r'), attempt: 1 }], ctx(T0, 'w', 0))],
      ['claimRuns: no worker id', 'ctx.workerId', (s, scope) => s.claimRuns([{ runId: runId(scope, 'r'), attempt: 1 }], ctx(T0, ''))],
      ['heartbeat: invalid now', 'ctx.now', (s, scope) => s.heartbeat([runId(scope, 'r')], ctx(BAD_DATE))],
      [
        'completeRuns: invalid finishedAt',
        'completions[0].finishedAt',
        (s, scope) =>
          s.completeRuns([
            { runId: runId(scope, 'r'), attempt: 1, guard: { workerId: 'w' }, status: 'succeeded', error: null, finishedAt: BAD_DATE },
          ]),
      ],
      ['acquireLeadership: ttl 0', 'ttlMs', (s, scope) => s.acquireLeadership(scope, 'i1', 0, T0)],
      ['acquireLeadership: no instance id', 'instanceId', (s, scope) => s.acquireLeadership(scope, '', 1000, T0)],
      ['appendAudit: invalid at', 'entry.at', (s, scope) => s.appendAudit(scope, { jobId: 'a', action: 'create', at: BAD_DATE })],
      ['deadWorkerRuns: negative grace', 'graceMs', (s, scope) => s.deadWorkerRuns(scope, T0, -1, 10)],
      [
        'completeRuns: workerGone without absentBefore',
        'completions[0].guard.absentBefore',
        (s, scope) =>
          s.completeRuns([
            { runId: runId(scope, 'r'), attempt: 1, guard: { workerGone: 'w' } as never, status: 'failed', error: null, finishedAt: T0 },
          ]),
      ],
      ['retentionCutoffs: keepLast 0', 'defaults.keepLast', (s, scope) => s.retentionCutoffs(scope, { maxAgeMs: null, keepLast: 0 }, T0)],
      ['retentionCutoffs: invalid now', 'now', (s, scope) => s.retentionCutoffs(scope, { maxAgeMs: 1000, keepLast: null }, BAD_DATE)],
      ['pruneRuns: limit 0', 'limit', (s, scope) => s.pruneRuns(scope, [{ jobId: 'a', before: T0 }], 0)],
      ['pruneRuns: invalid cutoff', 'cutoffs[0].before', (s, scope) => s.pruneRuns(scope, [{ jobId: 'a', before: BAD_DATE }], 10)],
      ['holdLiveness: unknown kind', 'kind', (s) => Promise.resolve().then(() => s.holdLiveness('leader' as never, 'i1'))],
      ['holdLiveness: no instance id', 'instanceId', (s) => Promise.resolve().then(() => s.holdLiveness('worker', ''))],
      [
        'holdLiveness: createClient not a function',
        'options.createClient',
        (s) => Promise.resolve().then(() => s.holdLiveness('worker', 'i1', { createClient: 'pg' as never })),
      ],
    ];

    for (const [title, field, call] of cases) {
      it(`${title} → ERR_INVALID_ARGUMENT naming \`${field}\``, async () => {
        const scope = c.scope();
        const error = await call(c.store(), scope).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(isWarrenError(error, 'ERR_INVALID_ARGUMENT'), `expected ERR_INVALID_ARGUMENT, got ${String(error)}`).toBe(true);
        expect((error as { field?: string }).field).toBe(field);
        expect((error as Error).message).toContain(field);
      });
    }

    it('a rejected batch writes nothing, not even its valid items', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'a');
      const good = newRun({ jobId: 'a', epoch: 1 }, runId(scope, 'good'));
      await expect(
        c.store().insertRuns(scope, [good, newRun({ jobId: 'a', epoch: 1 }, 'not-a-uuid', { scheduledFor: at(1) })], T0),
      ).rejects.toThrow();
      expect(await c.store().getRun(good.runId)).toBeNull();
    });

    // Reading: run ids are uuids, so any other string is simply a run that does not exist.
    it('a run id that is not a uuid is not found, not an error', async () => {
      expect(await c.store().getRun('not-a-uuid')).toBeNull();
      const [result] = await c.store().claimRuns([{ runId: 'not-a-uuid', attempt: 1 }], ctx(T0));
      expect(result).toMatchObject({ runId: 'not-a-uuid', outcome: 'not_found', run: null, job: null });
    });
  });
}
