/**
 * The chaos suite's invariant checker: reads warren's `runs`, the handlers' `chaos_effects`
 * and the fleet's exit records, and counts, per invariant, what was checked and what broke
 * it (with the first few offenders). Zero violations everywhere is a passing run.
 */
import type pg from 'pg';
import type { ExitRecord } from './fleet.js';

export interface InvariantResult {
  name: string;
  /** What was checked (slots, runs, exits, run-now calls). */
  checked: number;
  violations: number;
  /** Counts worth reporting that are not violations (e.g. duplicates a recorded crash explains). */
  notes: Record<string, number>;
  /** The first offenders, for the report. */
  examples: string[];
}

export interface CheckInput {
  pool: pg.Pool;
  schema: string;
  scope: string;
  exits: readonly ExitRecord[];
  /** What each runNow call answered: a run id or an error. */
  runNow: ReadonlyArray<{ runId?: string; error?: string }>;
  /** Only runs created from this instant on (a reused schema). */
  since?: Date;
}

interface RunRow {
  run_id: string;
  job_id: string;
  scheduled_for: Date;
  trigger_source: string;
  status: string;
  attempt: number;
  error: string | null;
  attempts: Array<{ attempt: number; status: string; error: string | null }>;
}

interface EffectRow {
  run_id: string;
  attempt: number;
}

const FINAL = new Set(['succeeded', 'failed', 'dead', 'timed_out', 'expired', 'missed', 'skipped', 'cancelled']);
const MAX_EXAMPLES = 8;
const CRASH = /worker lost/;

function result(name: string): InvariantResult {
  return { name, checked: 0, violations: 0, notes: {}, examples: [] };
}

function violate(r: InvariantResult, example: string): void {
  r.violations += 1;
  if (r.examples.length < MAX_EXAMPLES) r.examples.push(example);
}

function note(r: InvariantResult, key: string, by = 1): void {
  r.notes[key] = (r.notes[key] ?? 0) + by;
}

/**
 * Duplicate side effects of one run are explained when every attempt that wrote one, except
 * the attempt that succeeded, is recorded in the run's history with an outcome other than
 * success (a crash reaped as "worker lost", or a failure): the handler ran again because its
 * earlier attempt was recorded as not done. Two effects of one attempt are never explained.
 */
function explainDuplicates(run: RunRow, effects: EffectRow[]): { ok: boolean; crashed: boolean; why: string } {
  const attempts = effects.map((e) => e.attempt);
  if (new Set(attempts).size !== attempts.length)
    return { ok: false, crashed: false, why: `attempt written twice (${attempts.join(',')})` };
  let crashed = false;
  for (const attempt of attempts) {
    if (run.status === 'succeeded' && attempt === run.attempt) continue;
    const record = run.attempts.find((a) => a.attempt === attempt);
    if (!record || record.status === 'succeeded') return { ok: false, crashed: false, why: `attempt ${attempt} not recorded as failed` };
    if (CRASH.test(record.error ?? '')) crashed = true;
  }
  return { ok: true, crashed, why: '' };
}

export async function checkInvariants(input: CheckInput): Promise<InvariantResult[]> {
  const since = input.since ?? new Date(0);
  const { rows: runs } = await input.pool.query<RunRow>(
    `SELECT run_id, job_id, scheduled_for, trigger_source, status, attempt, error, attempts
       FROM "${input.schema}".runs WHERE scope = $1 AND created_at >= $2 ORDER BY job_id, scheduled_for`,
    [input.scope, since],
  );
  const { rows: effects } = await input.pool.query<EffectRow>(
    `SELECT e.run_id, e.attempt FROM "${input.schema}".chaos_effects e WHERE e.at >= $1 ORDER BY e.id`,
    [since],
  );
  const effectsOf = new Map<string, EffectRow[]>();
  for (const e of effects) effectsOf.set(e.run_id, [...(effectsOf.get(e.run_id) ?? []), e]);
  const runById = new Map(runs.map((r) => [r.run_id, r]));

  // 1. One run row per slot, and no slot of the every-second `tick` stream without one.
  const slots = result('one run row per slot');
  const seen = new Map<string, number>();
  for (const run of runs.filter((r) => r.trigger_source !== 'manual')) {
    const key = `${run.job_id}@${run.scheduled_for.toISOString()}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  for (const [key, count] of seen) {
    slots.checked += 1;
    if (count > 1) violate(slots, `${key}: ${count} rows`);
  }
  const ticks = runs.filter((r) => r.job_id === 'tick' && r.trigger_source !== 'manual').map((r) => r.scheduled_for.getTime());
  for (let i = 1; i < ticks.length; i++) {
    const gap = Math.round((ticks[i]! - ticks[i - 1]!) / 1000) - 1;
    for (let k = 1; k <= gap; k++) {
      slots.checked += 1;
      violate(slots, `tick@${new Date(ticks[i - 1]! + k * 1000).toISOString()}: no row (a slot lost)`);
    }
  }
  note(slots, 'tick slots', ticks.length);

  // 2. No run with two successful side effects, unless an attempt crashed mid-run and is recorded.
  const once = result('side effect once per run (or a recorded crashed attempt)');
  for (const run of runs) {
    const mine = effectsOf.get(run.run_id) ?? [];
    if (mine.length === 0 && run.status !== 'succeeded') continue;
    once.checked += 1;
    if (run.status === 'succeeded' && mine.length === 0) violate(once, `${run.job_id} ${run.run_id}: succeeded without its side effect`);
    if (mine.length > 1) {
      const verdict = explainDuplicates(run, mine);
      if (!verdict.ok) violate(once, `${run.job_id} ${run.run_id}: ${mine.length} side effects, ${verdict.why}`);
      else note(once, verdict.crashed ? 'duplicates after a recorded crash' : 'duplicates after a recorded failed attempt');
    }
  }
  const orphans = effects.filter((e) => !runById.has(e.run_id));
  for (const e of orphans) violate(once, `side effect of run ${e.run_id} with no run row`);

  // 3. Every slot or run that did not succeed says why, and nothing is left half-done.
  const reasons = result('every non-run slot has a reason');
  for (const run of runs) {
    if (run.status === 'succeeded') continue;
    reasons.checked += 1;
    if (!FINAL.has(run.status)) violate(reasons, `${run.job_id} ${run.run_id}: left ${run.status} (attempt ${run.attempt})`);
    else if (!run.error) violate(reasons, `${run.job_id} ${run.run_id}: ${run.status} with no reason`);
    else note(reasons, run.status);
  }

  // 4. No process exited but by the scenario's kill -9 or a clean stop.
  const exits = result('no unexpected process exit');
  for (const exit of input.exits) {
    exits.checked += 1;
    if (!exit.expected) {
      violate(
        exits,
        `${exit.instanceId} (pid ${exit.pid}): ${exit.why}, code ${exit.code}, signal ${exit.signal}: ${exit.stderr.slice(-2500)}`,
      );
    } else note(exits, exit.why);
  }

  // 5. Every runNow answered with a run, recorded, and run exactly once.
  const runNow = result('every run-now recorded and run exactly once');
  for (const call of input.runNow) {
    runNow.checked += 1;
    if (call.error !== undefined || call.runId === undefined) {
      violate(runNow, `runNow refused: ${call.error ?? 'no run id'}`);
      continue;
    }
    const run = runById.get(call.runId);
    if (!run) {
      violate(runNow, `${call.runId}: no run row`);
      continue;
    }
    const mine = effectsOf.get(call.runId) ?? [];
    if (run.status !== 'succeeded') violate(runNow, `${call.runId}: ${run.status} (${run.error ?? 'no reason'})`);
    else if (mine.length === 0) violate(runNow, `${call.runId}: succeeded without its side effect`);
    else if (mine.length > 1 && !explainDuplicates(run, mine).ok) violate(runNow, `${call.runId}: ran ${mine.length} times`);
    if (mine.length > 1) note(runNow, 'ran again after a recorded crash');
  }
  return [slots, once, reasons, exits, runNow];
}
