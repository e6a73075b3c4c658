/**
 * Express: `app.use('/admin', expressAdmin({ control, token }))`. The admin listener plus an
 * error middleware on the same mount, so a body that `express.json()` (mounted app-wide)
 * refused is answered in warren's JSON error format instead of Express's HTML page, and a
 * body it parsed is used as is. Structural types only: Express is not a dependency.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAdminDispatch, nodeRequest, sendAnswer } from './handler.js';
import type { AdminHandlerOptions } from './options.js';

type Next = (error?: unknown) => void;
type Req = IncomingMessage & { body?: unknown };

export type ExpressAdminMiddleware = (req: Req, res: ServerResponse, next: Next) => void;
export type ExpressAdminErrorMiddleware = (error: unknown, req: Req, res: ServerResponse, next: Next) => void;

/** `[handler, errorHandler]`: Express flattens the array in `app.use(path, ...)`. Validates the options at once. */
export function expressAdmin(options: AdminHandlerOptions): [ExpressAdminMiddleware, ExpressAdminErrorMiddleware] {
  const { dispatch, maxBodyBytes, frameworkError, servePage } = createAdminDispatch(options);
  const handler: ExpressAdminMiddleware = (req, res) => {
    if (servePage(req, res)) return;
    void dispatch(nodeRequest(req, maxBodyBytes)).then((answer) => sendAnswer(req, res, answer));
  };
  // Four parameters: that is how Express tells an error middleware.
  const errorHandler: ExpressAdminErrorMiddleware = (error, req, res, next) => {
    if (res.headersSent) return next(error);
    sendAnswer(req, res, frameworkError(error, nodeRequest(req, maxBodyBytes)));
  };
  return [handler, errorHandler];
}
