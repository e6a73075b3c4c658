import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './respond.js';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>`. Both sides are hashed first, so the comparison
 * is constant-time whatever the lengths (timingSafeEqual needs equal lengths, and an
 * early length check would leak the token's length).
 */
export function bearerCheck(token: string): (req: Pick<IncomingMessage, 'headers'>) => void {
  const expected = digest(token);
  return (req) => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
    const ok = match !== null && timingSafeEqual(digest(match[1]!), expected);
    if (!ok) {
      const message = header === undefined ? 'Missing bearer token (Authorization: Bearer <token>)' : 'Invalid bearer token';
      throw new HttpError(401, 'ERR_UNAUTHORIZED', message, undefined, { 'WWW-Authenticate': 'Bearer realm="warren"' });
    }
  };
}
