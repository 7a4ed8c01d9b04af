/**
 * CSRF protection for a console whose users authenticate with client certificates (issue 18):
 * the browser presents the certificate on any request, including one a hostile page makes it
 * send, so every change must prove it came from the console itself.
 * 1. Same origin: the Origin header (browsers send it on every POST) must be this server's.
 * 2. A per-session token: a random cookie (__Host-, Secure, HttpOnly, SameSite=Strict) and, in
 *    each form, HMAC(key, cookie ‖ the certificate's fingerprint). A page of another origin can
 *    read neither; a token is bound to both the browser session and the identity. The key is the
 *    same in every worker and replica (derived from the server's TLS key by the composition root).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { KeylineError } from '../../common/errors.js';
import { principalOf } from '../api/middleware/mtls.js';

const COOKIE = '__Host-keyline-session';

/** The session's form token, setting the session cookie first when the browser has none. */
export function csrfToken(ctx: Context, key: Uint8Array): string {
  let session = ctx.cookies.get(COOKIE);
  if (!session || !/^[A-Za-z0-9_-]{43}$/.test(session)) {
    session = randomBytes(32).toString('base64url');
    ctx.cookies.set(COOKIE, session, { secure: true, httpOnly: true, sameSite: 'strict', path: '/', overwrite: true });
  }
  return tokenFor(key, session, principalOf(ctx).fingerprintSha256);
}

/** Refuses the request (CSRF_REJECTED) unless it comes from this origin with this session's token. */
export function checkCsrf(ctx: Context, key: Uint8Array, token: string | undefined): void {
  const origin = ctx.get('origin');
  if (!origin || origin !== `https://${ctx.host}`) throw new KeylineError('CSRF_REJECTED', `origin: '${origin.slice(0, 100) || '(none)'}' is not this console's`);
  const session = ctx.cookies.get(COOKIE);
  if (!session || !token) throw new KeylineError('CSRF_REJECTED', 'the form has no session token: reload the page and try again');
  const expected = Buffer.from(tokenFor(key, session, principalOf(ctx).fingerprintSha256));
  const given = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new KeylineError('CSRF_REJECTED', 'the form\'s session token does not match: reload the page and try again');
}

function tokenFor(key: Uint8Array, session: string, fingerprint: string): string {
  return createHmac('sha256', key).update(`keyline-console-csrf\0${session}\0${fingerprint}`).digest('base64url');
}
