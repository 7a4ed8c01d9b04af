/**
 * Reading an EST request body: `application/pkcs10` only (RFC 7030 §4.2.1; parameters allowed),
 * at most a few KiB (a P-256 request in base64 is under 1 KiB), base64 decoded.
 */
import type { Context } from 'koa';
import { ValidationError } from '../../common/errors.js';
import { decodeBase64Body } from './base64-body.js';

/** The largest body accepted: far above any P-256 request, far below anything that costs memory. */
export const EST_BODY_LIMIT = 16 * 1024;

/** The request's PKCS#10 DER; UNSUPPORTED_MEDIA_TYPE, BODY_TOO_LARGE or INVALID_CSR otherwise. */
export async function readPkcs10(ctx: Context): Promise<Uint8Array> {
  const type = (ctx.get('Content-Type').split(';')[0] ?? '').trim().toLowerCase();
  if (type !== 'application/pkcs10') throw new ValidationError('UNSUPPORTED_MEDIA_TYPE', `EST: the body must be application/pkcs10, got '${type || 'none'}'`);
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    ctx.req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= EST_BODY_LIMIT) chunks.push(c);
    });
    // An oversized body is drained, not kept: the answer goes out once the client finished sending.
    ctx.req.on('end', () => (size > EST_BODY_LIMIT ? reject(new ValidationError('BODY_TOO_LARGE', `EST: the body exceeds ${EST_BODY_LIMIT} bytes`)) : resolve(Buffer.concat(chunks))));
    ctx.req.on('error', reject);
  });
  return decodeBase64Body(body, 'pkcs10');
}
