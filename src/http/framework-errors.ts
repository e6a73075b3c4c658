/**
 * A framework that parses the body itself (Express's `express.json()`, Fastify's parsers)
 * raises its own errors for a bad body, answered in its own format (Express: an HTML
 * page). These map them to warren's: `ERR_INVALID_JSON`, `ERR_BODY_TOO_LARGE`,
 * `ERR_UNSUPPORTED_MEDIA_TYPE`. Anything else is left alone (`undefined`).
 */
import { HttpError } from './respond.js';

interface FrameworkError {
  type?: unknown;
  code?: unknown;
  status?: unknown;
  statusCode?: unknown;
  limit?: unknown;
  message?: unknown;
  name?: unknown;
}

// body-parser (Express) sets `type`; Fastify sets `code`.
const INVALID_JSON = new Set([
  'entity.parse.failed',
  'request.aborted',
  'request.size.invalid',
  'FST_ERR_CTP_INVALID_JSON_BODY',
  'FST_ERR_CTP_EMPTY_JSON_BODY',
  'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
]);
const TOO_LARGE = new Set(['entity.too.large', 'FST_ERR_CTP_BODY_TOO_LARGE']);
const MEDIA_TYPE = new Set(['encoding.unsupported', 'charset.unsupported', 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'FST_ERR_CTP_INVALID_TYPE']);

export function frameworkBodyError(error: unknown): HttpError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as FrameworkError;
  const kind = typeof e.type === 'string' ? e.type : typeof e.code === 'string' ? e.code : '';
  const status = typeof e.statusCode === 'number' ? e.statusCode : typeof e.status === 'number' ? e.status : undefined;
  const detail = typeof e.message === 'string' ? e.message : 'unreadable body';
  if (TOO_LARGE.has(kind) || status === 413) {
    const limit = typeof e.limit === 'number' ? ` (limit ${e.limit} bytes)` : '';
    return new HttpError(413, 'ERR_BODY_TOO_LARGE', `The request body is too large${limit}`);
  }
  if (INVALID_JSON.has(kind) || (e.name === 'SyntaxError' && status === 400)) {
    return new HttpError(400, 'ERR_INVALID_JSON', `The request body is not valid JSON: ${detail}`);
  }
  if (MEDIA_TYPE.has(kind) || status === 415) {
    return new HttpError(400, 'ERR_UNSUPPORTED_MEDIA_TYPE', `Expected a JSON body (Content-Type: application/json): ${detail}`);
  }
  return undefined;
}
