/**
 * The one place errors become HTTP answers: a KeylineError's code maps through ERROR_TABLE;
 * anything else, or an unexposed code, leaves as a generic INTERNAL and goes to the log once.
 */
import type { Context, Next } from 'koa';
import { ERROR_TABLE, KeylineError } from '../../common/errors.js';
import type { ErrorBody } from '../../common/protocol/station-api.js';

/** The JSON body and status for any thrown value. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody; expose: boolean } {
  if (err instanceof KeylineError) {
    const m = ERROR_TABLE[err.code];
    if (m.expose) {
      const body: ErrorBody = { error: { code: err.code, message: err.message } };
      if (err.detail) body.error.detail = err.detail;
      return { status: m.http, body, expose: true };
    }
    return { status: m.http, body: { error: { code: 'INTERNAL', message: 'internal error' } }, expose: false };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } }, expose: false };
}

/** Koa middleware: turns thrown errors into `{ error: { code, message } }` and logs unexposed ones. */
export async function handleErrors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      throw new KeylineError('NOT_FOUND', `no route ${ctx.method} ${ctx.path}`);
    }
  } catch (err) {
    const { status, body, expose } = errorResponse(err);
    ctx.status = status;
    ctx.body = body;
    ctx.state.errorCode = body.error.code;
    // Exposed refusals are normal traffic (logged by the request logger); the rest is a fault.
    if (!expose) ctx.app.emit('error', err, ctx);
  }
}
