/**
 * `warren/http`: the admin REST API (the seed's `/jobs` endpoints) as a mountable Node
 * request listener with bearer-token auth. See docs/adapters.md.
 */
export { createAdminHandler } from './handler.js';
export type { AdminHandler } from './handler.js';
export type { AdminHandlerOptions, AdminLogger } from './options.js';
export type { Control, ActorOption } from './control.js';
export type { AdminErrorCode, ErrorBody } from './respond.js';
