/**
 * The admin API's JSON shapes, shared by the routes (what they answer) and the admin client
 * (what it reads back). Only types and a header name: the client imports this file, so it
 * must stay free of server code.
 */
import type { BackfillResult, JobDetails, JobStatus } from '../scheduler/control-types.js';
import type { AuditEntry, RunRecord } from '../store/port.js';

/** `GET /jobs`. */
export interface JobsAnswer {
  jobs: JobStatus[];
}

/** `GET /jobs/:id/runs`. */
export interface RunsAnswer {
  runs: RunRecord[];
}

/** `GET /audit`. */
export interface AuditAnswer {
  entries: AuditEntry[];
}

/** Every success body the admin API sends (`DELETE` answers 204 with none). */
export type AdminAnswer = JobsAnswer | RunsAnswer | AuditAnswer | JobDetails | RunRecord | BackfillResult;

/** What `JSON.stringify` makes of a value: its Dates become ISO-8601 strings. */
export type Json<T> = T extends Date
  ? string
  : T extends ReadonlyArray<infer U>
    ? Array<Json<U>>
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

/**
 * The request header in which the admin client names the actor of a control action
 * (URI-encoded, since header values are bytes). A label the caller chooses, not an identity:
 * an `actorHeader` set by an authenticating proxy wins over it.
 */
export const ACTOR_HEADER = 'x-warren-actor';
