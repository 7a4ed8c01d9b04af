/**
 * Reads a JSON request body with a hard size limit, so an oversized or malformed body is a
 * precise 413/400 instead of a parser's stack trace. Only `application/json` in UTF-8 is read
 * (415 otherwise: a form or text body is never guessed at), and a member named twice is refused
 * rather than silently taking the last value (common/json-strict.ts).
 */
import type { Context } from 'koa';
import { KeylineError, ValidationError } from '../../../common/errors.js';
import { parseJsonStrict } from '../../../common/json-strict.js';
import type { z } from 'zod';

/** Parses the body as JSON (at most `limit` bytes) and validates it with `schema`. */
export async function readJson<S extends z.ZodType>(ctx: Context, schema: S, limit: number): Promise<z.output<S>> {
  checkContentType(ctx);
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new ValidationError('BODY_TOO_LARGE', `body of ${declared} bytes exceeds the ${limit}-byte limit`);
  const body = await readBody(ctx, limit);
  return validate(schema, parseJsonStrict(body.toString('utf8')));
}

/** RFC 8259 §8.1: JSON is UTF-8; a declared charset other than that is refused, not transcoded. */
function checkContentType(ctx: Context): void {
  const header = ctx.get('content-type');
  const [type, ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  if (type !== 'application/json' || (charset !== undefined && charset !== 'utf-8')) {
    // The unread body would otherwise be taken as the next request on a keep-alive connection.
    ctx.set('Connection', 'close');
    throw new KeylineError('UNSUPPORTED_MEDIA_TYPE', `content-type: expected application/json, got '${header.slice(0, 100)}'`);
  }
}

/**
 * Collects the raw body with 'data'/'end' events. (Iterating the request with `for await` let
 * Node's HTTP parser see the next keep-alive request while paused: HPE_PAUSED, a dropped
 * connection, under load.) An oversized body is drained, not buffered, and the connection
 * closes after the 413.
 */
function readBody(ctx: Context, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    ctx.req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (tooLarge) return;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        ctx.set('Connection', 'close');
        reject(new ValidationError('BODY_TOO_LARGE', `body exceeds the ${limit}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    ctx.req.on('end', () => tooLarge || resolve(Buffer.concat(chunks)));
    ctx.req.on('error', reject);
  });
}

/** Validates `value` with `schema`, naming every field at fault. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  const first = issues[0]!;
  throw new ValidationError('VALIDATION_FAILED', `${first.field}: ${first.message}`, { detail: { issues } });
}
