/**
 * Every EST answer leaves through here, in the shape common EST clients need (RFC 7030 §4,
 * RFC 8951): the exact content type, base64 bodies with Content-Transfer-Encoding: base64, a
 * Content-Length (Koa sets it for a Buffer body, so never chunked), the usual header
 * capitalisation, and Connection: close, since several clients expect the server to end the
 * connection after each answer. Refusals are text/plain with the code and the reason.
 */
import type { Context } from 'koa';
import { ERROR_TABLE, KeylineError } from '../../common/errors.js';
import { encodeBase64Body } from './base64-body.js';

/** The content types of RFC 7030 §4.1.3, §4.2.3 and §4.5.2, as clients match them. */
export const EST_TYPES = {
  cacerts: 'application/pkcs7-mime',
  enrolled: 'application/pkcs7-mime; smime-type=certs-only',
  csrattrs: 'application/csrattrs',
} as const;

function finish(ctx: Context, status: number, type: string, body: Buffer): void {
  ctx.status = status;
  ctx.set('Content-Type', type);
  ctx.set('Connection', 'close');
  ctx.body = body;
}

/** A 200 answer of base64 DER, in lines of `lineLength` characters (0 = one line). */
export function sendDer(ctx: Context, type: string, der: Uint8Array, lineLength: number): void {
  ctx.set('Content-Transfer-Encoding', 'base64');
  finish(ctx, 200, type, encodeBase64Body(der, lineLength));
}

/** A text answer (refusals, 202, 501). */
export function sendText(ctx: Context, status: number, text: string): void {
  finish(ctx, status, 'text/plain; charset=utf-8', Buffer.from(`${text}\n`, 'utf8'));
}

/** 204: nothing to say (csrattrs of a profile that asks for nothing; RFC 7230 §3.3.2: no Content-Length). */
export function sendNoContent(ctx: Context): void {
  ctx.status = 204;
  ctx.set('Connection', 'close');
  ctx.body = null;
}

/**
 * The one place EST errors become answers: the status of ERROR_TABLE, a text/plain reason, and a
 * WWW-Authenticate challenge on every 401 (RFC 7235 §3.1; clients send Basic credentials only
 * after it). An unexposed error leaves as INTERNAL and is logged once by the app.
 */
export function sendEstError(ctx: Context, err: unknown, realm: string): void {
  const e = err instanceof KeylineError ? err : null;
  const m = e ? ERROR_TABLE[e.code] : null;
  const exposed = e !== null && m !== null && m.expose;
  const status = m?.http ?? 500;
  if (status === 401) ctx.set('WWW-Authenticate', `Basic realm="${realm}"`);
  sendText(ctx, status, exposed ? `${e.code}: ${e.message}` : 'INTERNAL: internal error');
  ctx.state.errorCode = exposed ? e.code : 'INTERNAL';
  if (!exposed) ctx.app.emit('error', err, ctx);
}
