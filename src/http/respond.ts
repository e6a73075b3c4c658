/**
 * Answers: JSON bodies always, errors as `{ error: { code, message, field? } }`, and the
 * mapping from warren's error codes to HTTP statuses. A failure that is not a known warren
 * error is answered 500 with a generic message; its details go to the log only.
 */
import type { ServerResponse } from 'node:http';
import { isWarrenError, type WarrenErrorCode } from '../errors.js';

/**
 * Codes of the admin API's error bodies: warren's own, the HTTP layer's among them, so the
 * admin client rebuilds each as a WarrenError with the same code.
 */
export type AdminErrorCode = WarrenErrorCode;

/** An error the HTTP layer answers itself, with its status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: AdminErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const STATUS_OF: Partial<Record<WarrenErrorCode, number>> = {
  ERR_INVALID_ARGUMENT: 400,
  ERR_INVALID_JOB: 400,
  ERR_INVALID_MESSAGE: 400,
  ERR_DELAY_OUT_OF_RANGE: 400,
  ERR_UNAUTHORIZED: 401,
  ERR_JOB_NOT_FOUND: 404,
  ERR_RUN_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  // The scheduler is stopping: another instance (or a retry) will serve the call.
  ERR_CLOSED: 503,
};

export interface ErrorBody {
  error: { code: AdminErrorCode; message: string; field?: string };
}

/** The status and body for any thrown value; `internal` is true when it must be logged as unexpected. */
export function describeError(error: unknown): { status: number; body: ErrorBody; headers: Record<string, string>; internal: boolean } {
  if (error instanceof HttpError) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.field !== undefined) body.error.field = error.field;
    return { status: error.status, body, headers: error.headers, internal: false };
  }
  if (isWarrenError(error)) {
    const status = STATUS_OF[error.code];
    if (status !== undefined) {
      const body: ErrorBody = { error: { code: error.code, message: error.message } };
      if (error.field !== undefined) body.error.field = error.field;
      return { status, body, headers: {}, internal: false };
    }
  }
  return {
    status: 500,
    body: { error: { code: 'ERR_INTERNAL', message: 'Internal error; the server log has the details' } },
    headers: {},
    internal: true,
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = body === undefined ? '' : JSON.stringify(body);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  // Admin answers are live state: never serve them from a cache.
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (status === 204) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
