/**
 * How console handlers answer: a page with the console's security headers, or a redirect after
 * a change (POST → 303 → GET) carrying a fixed notice key, never free text from the query.
 */
import type { Context } from 'koa';
import { principalOf } from '../api/middleware/mtls.js';
import { checkCsrf, csrfToken } from './csrf.js';
import { readForm } from './form.js';
import type { Html } from './html.js';
import type { PageContext } from './layout.js';

// Scripts and styles only from this origin (no inline script, no CDN); no framing; forms post here only.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

const NOTICES: Record<string, (s: string) => string> = {
  created: (s) => `Work order ${s} created.`,
  closed: (s) => `Work order ${s} closed: nothing more is issued on it.`,
  released: (s) => `Unit ${s} released from quarantine.`,
  scrapped: (s) => `Unit ${s} scrapped: its certificate is revoked (cessationOfOperation).`,
  revoked: (s) => `Revoked ${s}.`,
  retried: (s) => `Job ${s} is back in the outbox.`,
  parked: (s) => `Job ${s} parked.`,
  verified: () => 'The whole chain was walked again.',
};

/** The page context of a GET: who, the session's form token, the notice of a redirect. */
export function pageContext(ctx: Context, csrfKey: Uint8Array): PageContext {
  const done = typeof ctx.query.done === 'string' ? NOTICES[ctx.query.done] : undefined;
  const subject = typeof ctx.query.subject === 'string' ? ctx.query.subject.slice(0, 128) : '';
  return { principal: principalOf(ctx), csrf: csrfToken(ctx, csrfKey), notice: done?.(subject) };
}

/** Sends a page. */
export function sendPage(ctx: Context, doc: Html, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` on form posts,
  // and the origin check (csrf.ts) needs the real one.
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('Cache-Control', 'no-store');
  ctx.body = doc.value;
}

/** Reads a form after checking it came from the console (same origin, session token). */
export async function readConsoleForm(ctx: Context, csrfKey: Uint8Array, multi: readonly string[] = []): Promise<Record<string, string>> {
  const origin = ctx.get('origin');
  // The origin first: a cross-site post is refused before its body is read.
  if (origin !== `https://${ctx.host}`) checkCsrf(ctx, csrfKey, undefined);
  const form = await readForm(ctx, multi);
  checkCsrf(ctx, csrfKey, form.csrf);
  return form;
}

/** 303 to `path` with a notice. */
export function redirectDone(ctx: Context, path: string, done: keyof typeof NOTICES, subject: string, extra: Record<string, string> = {}): void {
  ctx.status = 303;
  ctx.redirect(`${path}?${new URLSearchParams({ done, subject, ...extra })}`);
}
