/**
 * The chaos suite's short set (test/chaos/suite.ts) in `npm test`: real processes of the built
 * package through boot orders, leader and worker kill -9, a broker cut, PostgreSQL backend
 * bursts and 300 concurrent runNow, then every invariant holds with zero violations. The
 * timings are measured by `npm run chaos` (docs/reliability.md), never asserted here.
 */
import { beforeAll, expect, test } from 'vitest';
import { assertBuilt } from '../helpers/built.js';
import { AMQP_URL, DATABASE_URL } from '../helpers/env.js';
import { SHORT, runChaos, type ChaosReport } from './suite.js';

beforeAll(assertBuilt);

test('the short chaos set: every invariant holds', { timeout: 300_000 }, async () => {
  const report: ChaosReport = await runChaos({ ...SHORT, databaseUrl: DATABASE_URL, amqpUrls: [AMQP_URL] });
  const table = report.invariants.map((r) => ({ name: r.name, checked: r.checked, violations: r.violations, examples: r.examples }));
  // Each invariant looked at something: a vacuous pass proves nothing.
  for (const r of report.invariants) expect(r.checked, r.name).toBeGreaterThan(0);
  expect(table.filter((r) => r.violations > 0)).toEqual([]);
  expect(report.unsettled).toBe(0);
  // Every scenario ran.
  expect(report.timings.bootOrders).toHaveLength(SHORT.bootOrders.length);
  expect(report.timings.leaderKills).toHaveLength(SHORT.leaderKills);
  expect(report.timings.workerKills).toHaveLength(SHORT.workerKills);
  expect(report.timings.brokerCut).toHaveLength(1);
  expect(report.timings.pgBursts).toHaveLength(SHORT.pgBursts);
  expect(report.timings.runNow[0]?.count).toBe(SHORT.runNowCount);
});
