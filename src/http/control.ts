/**
 * The admin handler drives the one control type (`Control`): a `createScheduler()`
 * instance fits (leader or `role: 'control-only'`), so does the HTTP admin client, the
 * test harness, and a host's own wrapper that adds checks or logging.
 */
export type { Control, ActorOption } from '../scheduler/control-types.js';
export { RUN_STATUSES } from '../scheduler/control-types.js';
