/**
 * The generic run update's column set and parameters (queries.ts `buildRunUpdates`): which
 * RUN_UPDATE_COLUMNS a batch of planned rows changes, and the array literals that write them.
 */
import type { AttemptRecord, RunRecord } from '../port.js';
import { numberArray, textArray, uuidArray } from './array-literal.js';
import { RUN_UPDATE_COLUMNS } from './queries.js';
import { attemptJson } from './rows.js';

type Column = (typeof RUN_UPDATE_COLUMNS)[number][0];

/** Each column's RunRecord field. */
const FIELDS = {
  status: 'status',
  attempt: 'attempt',
  available_at: 'availableAt',
  stale_at: 'staleAt',
  lease_until: 'leaseUntil',
  worker_id: 'workerId',
  started_at: 'startedAt',
  finished_at: 'finishedAt',
  error: 'error',
  published_at: 'publishedAt',
  cancel_requested_at: 'cancelRequestedAt',
  attempts: 'attempts',
} as const satisfies Record<Column, keyof RunRecord>;

const COLUMNS = RUN_UPDATE_COLUMNS.map(([name, cast], i) => ({ bit: 1 << i, field: FIELDS[name], cast }));

/** Every column: the statement that writes a row whole. */
export const ALL_COLUMNS = (1 << RUN_UPDATE_COLUMNS.length) - 1;

/**
 * The columns (a mask, bit i: RUN_UPDATE_COLUMNS[i]) in which some planned row differs from
 * the row it was planned on (`before`, by run id: the row as the database holds it, locked,
 * or checked by row version when written). Instants compare by time; the attempt history by
 * reference, as decide.ts builds a new array only when it appends to it. A row that leaves
 * one of the batch's columns as it was writes its own value there (the value it has). Every
 * planned row changes something (a status, a cancel request, an attempt); were a batch not
 * to, or a row to have no `before`, it is written whole, as every batch once was.
 */
export function changedColumns(runs: Iterable<RunRecord>, before: ReadonlyMap<string, RunRecord>): number {
  let mask = 0;
  for (const run of runs) {
    const read = before.get(run.runId);
    if (read === undefined) return ALL_COLUMNS;
    for (const c of COLUMNS) if ((mask & c.bit) === 0 && !same(run[c.field], read[c.field])) mask |= c.bit;
  }
  return mask === 0 ? ALL_COLUMNS : mask;
}

function same(a: unknown, b: unknown): boolean {
  return a === b || (a instanceof Date && b instanceof Date && a.getTime() === b.getTime());
}

/** The run update's parameters for the columns in `mask`: run ids, then one array literal per column, in RUN_UPDATE_COLUMNS order. */
export function runUpdateValues(runs: readonly RunRecord[], mask: number): string[] {
  const values = [uuidArray(runs.map((r) => r.runId))];
  for (const c of COLUMNS) if ((mask & c.bit) !== 0) values.push(columnArray(runs, c.field, c.cast));
  return values;
}

/** One column's array literal; instants as epoch milliseconds, the attempt history as JSON text (the statement casts both back). */
function columnArray(runs: readonly RunRecord[], field: keyof RunRecord, cast: (typeof COLUMNS)[number]['cast']): string {
  switch (cast) {
    case 'text':
      return textArray(runs.map((r) => r[field] as string | null));
    case 'integer':
      return numberArray(runs.map((r) => r[field] as number));
    case 'timestamptz':
      return numberArray(runs.map((r) => (r[field] as Date | null)?.getTime() ?? null));
    case 'jsonb':
      return textArray(runs.map((r) => JSON.stringify((r[field] as AttemptRecord[]).map(attemptJson))));
  }
}
