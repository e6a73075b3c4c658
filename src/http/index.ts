/**
 * `warren/http`: the admin REST API (the seed's `/jobs` endpoints) as a mountable Node
 * request listener with bearer-token auth, and the admin page that drives it from a
 * browser. See docs/adapters.md.
 */
export { createAdminHandler } from './handler.js';
export type { AdminHandler } from './handler.js';
export type { AdminHandlerOptions, AdminLogger } from './options.js';
export type { Control, ActorOption } from './control.js';
export type { AdminErrorCode, ErrorBody } from './respond.js';
