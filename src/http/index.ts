/**
 * `warren/http`: the admin REST API (the seed's `/jobs` endpoints) as a mountable Node
 * request listener with bearer-token auth, the admin page that drives it from a browser,
 * and `createAdminClient`, the control API over it from any other process. See
 * docs/adapters.md and docs/control-api.md.
 */
export { createAdminHandler } from './handler.js';
export { createAdminClient, AdminClient } from './client.js';
export type { AdminClientOptions } from './client.js';
export type { FetchLike } from './client-options.js';
export type { AdminAnswer, AuditAnswer, JobsAnswer, Json, RunsAnswer } from './wire.js';
export type { AdminHandler } from './handler.js';
export { createAdminFetchHandler } from './fetch.js';
export type { AdminFetchHandler, FetchRequestInfo } from './fetch.js';
export { expressAdmin } from './express.js';
export type { ExpressAdminMiddleware, ExpressAdminErrorMiddleware } from './express.js';
export { fastifyAdmin } from './fastify.js';
export type { FastifyAdminInstance, FastifyAdminOptions } from './fastify.js';
export { honoAdmin } from './hono.js';
export type { HonoAdminContext } from './hono.js';
export type { AdminHandlerOptions, AdminLogger } from './options.js';
export type { Control, ActorOption } from './control.js';
export type { AdminErrorCode, ErrorBody } from './respond.js';
