/**
 * Reads a JSON request body with a size bound. A framework that already parsed the body
 * (Express with `express.json()`) leaves it on `req.body` and the stream drained: that
 * object is used as is.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './respond.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

function tooLarge(max: number): HttpError {
  return new HttpError(413, 'ERR_BODY_TOO_LARGE', `The request body is larger than ${max} bytes`);
}

/** `undefined` for an empty body. */
export async function readJsonBody(req: IncomingMessage & { body?: unknown }, maxBytes: number): Promise<unknown> {
  if (req.body !== undefined && (req.readableEnded || !req.readable)) return emptyToUndefined(req.body);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    // Drain without buffering so the client can read the answer on a kept-alive socket.
    req.resume();
    throw tooLarge(maxBytes);
  }
  if (req.readableEnded) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  await new Promise<void>((resolve, reject) => {
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > maxBytes) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', resolve);
    req.once('error', reject);
    req.once('aborted', () => reject(new HttpError(400, 'ERR_INVALID_JSON', 'The request was aborted')));
  });
  if (over) throw tooLarge(maxBytes);
  return parseJson(req.headers['content-type'], Buffer.concat(chunks));
}

/** The same for a fetch `Request` (Hono, Bun, Deno, workers): its stream is read with the same bound. */
export async function readWebJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (request.body === null) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return parseJson(request.headers.get('content-type') ?? undefined, Buffer.concat(chunks));
}

function parseJson(contentType: string | undefined, bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined;
  const type = (contentType ?? '').split(';')[0]!.trim();
  if (!JSON_TYPE.test(type)) {
    throw new HttpError(
      400,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      `Expected a JSON body (Content-Type: application/json), got ${type === '' ? 'no content type' : JSON.stringify(type)}`,
    );
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw invalidJson((error as Error).message);
  }
}

export function invalidJson(detail: string): HttpError {
  return new HttpError(400, 'ERR_INVALID_JSON', `The request body is not valid JSON: ${detail}`);
}

export { tooLarge };

/** Express's json parser sets `{}` for an empty body; treat it as no body. */
function emptyToUndefined(body: unknown): unknown {
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0) return undefined;
  return body;
}
