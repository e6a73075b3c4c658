/**
 * Fastify: `app.register(fastifyAdmin, { prefix: '/admin', control, token })`. The plugin's
 * own (encapsulated) context drops Fastify's body parsers, so warren reads the body with its
 * own limit and answers every error, body errors included, in its JSON format; the rest of
 * the app keeps its parsers. Structural types only: Fastify is not a dependency.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAdminDispatch, nodeRequest, sendAnswer } from './handler.js';
import type { AdminHandlerOptions } from './options.js';

interface RequestLike {
  raw: IncomingMessage;
}

interface ReplyLike {
  raw: ServerResponse;
  hijack(): unknown;
}

// Fastify's own signatures are generic over its type providers; `any` lets a real instance fit.
/* eslint-disable @typescript-eslint/no-explicit-any */
/** The part of a Fastify instance the plugin uses. */
export interface FastifyAdminInstance {
  readonly prefix: string;
  removeAllContentTypeParsers(): unknown;
  addContentTypeParser(
    type: string,
    parser: (request: any, payload: any, done: (error: Error | null, body?: unknown) => void) => void,
  ): unknown;
  setErrorHandler(handler: (error: any, request: any, reply: any) => void): unknown;
  route(options: { method: string[]; url: string; handler: (request: any, reply: any) => void }): unknown;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Fastify's own `register` options, not the admin handler's. */
const REGISTER_KEYS = ['prefix', 'logLevel', 'logSerializers'];

export type FastifyAdminOptions = AdminHandlerOptions & { prefix?: string };

export function fastifyAdmin(fastify: FastifyAdminInstance, options: FastifyAdminOptions, done: (error?: Error) => void): void {
  let core;
  try {
    const own = Object.fromEntries(Object.entries(options).filter(([key]) => !REGISTER_KEYS.includes(key))) as AdminHandlerOptions;
    core = createAdminDispatch({ ...own, basePath: own.basePath ?? fastify.prefix });
  } catch (error) {
    done(error as Error);
    return;
  }
  const { dispatch, maxBodyBytes, frameworkError, servePage } = core;
  // Leave the body unread: warren reads it from the raw request with its own limit.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_request, _payload, parsed) => parsed(null, undefined));
  const serve = (request: RequestLike, reply: ReplyLike) => {
    reply.hijack();
    if (servePage(request.raw, reply.raw)) return;
    void dispatch(nodeRequest(request.raw, maxBodyBytes)).then((answer) => sendAnswer(request.raw, reply.raw, answer));
  };
  fastify.setErrorHandler((error: unknown, request: RequestLike, reply: ReplyLike) => {
    reply.hijack();
    sendAnswer(request.raw, reply.raw, frameworkError(error, nodeRequest(request.raw, maxBodyBytes)));
  });
  // HEAD comes with GET (Fastify's exposeHeadRoutes); the handler answers 405 for the rest.
  const methods = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'];
  fastify.route({ method: methods, url: '/', handler: serve });
  fastify.route({ method: methods, url: '/*', handler: serve });
  done();
}
