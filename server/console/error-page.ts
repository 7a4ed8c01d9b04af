/**
 * Refusals on console paths, for a browser: the same status and code the API gives (the error
 * table decides both), as a page that says what happened and who may do it. Requests that do not
 * ask for HTML (scripts, tests, an EventSource) keep the JSON answer.
 */
import type { Context, Middleware } from 'koa';
import { errorResponse } from '../api/errors.js';
import type { Principal } from '../api/middleware/mtls.js';
import { html } from './html.js';
import { sendPage } from './respond.js';

/** Koa middleware placed inside handleErrors: renders console errors as pages for browsers. */
export function consoleErrorPages(): Middleware {
  return async (ctx: Context, next) => {
    try {
      await next();
    } catch (err) {
      if (!(ctx.path === '/console' || ctx.path.startsWith('/console/')) || !ctx.get('accept').includes('text/html')) throw err;
      const { status, body, expose } = errorResponse(err);
      ctx.state.errorCode = body.error.code;
      if (!expose) ctx.app.emit('error', err, ctx);
      const who = ctx.state.principal as Principal | undefined;
      sendPage(ctx, html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${status} ${body.error.code} · Keyline console</title><link rel="stylesheet" href="/console/assets/console.css"></head>
<body><main id="main" class="refusal">
<h1>${status === 403 ? 'Refused' : 'Not done'}: <code>${body.error.code}</code></h1>
<p role="alert">${body.error.message}</p>
${who ? html`<p>You are signed in as <strong>${who.id}</strong> with the role <strong>${who.role}</strong>.</p>` : html`<p>This console needs a client certificate of this PKI (operator, security-officer or auditor).</p>`}
<p><a href="/console/line">Back to the console</a></p>
</main></body></html>`, status);
    }
  };
}
