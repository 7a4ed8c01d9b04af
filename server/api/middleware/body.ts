/**
 * Reads a JSON request body with a hard size limit, so an oversized or malformed body is a
 * precise 413/400 instead of a parser's stack trace.
 */
import type { Context } from 'koa';
import { ValidationError } from '../../../common/errors.js';
import type { z } from 'zod';

/** Parses the body as JSON (at most `limit` bytes) and validates it with `schema`. */
export async function readJson<S extends z.ZodType>(ctx: Context, schema: S, limit: number): Promise<z.output<S>> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new ValidationError('BODY_TOO_LARGE', `body of ${declared} bytes exceeds the ${limit}-byte limit`);
  const body = await readBody(ctx, limit);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ValidationError('MALFORMED_JSON', `request body is not valid JSON: ${(err as Error).message}`);
  }
  return validate(schema, json);
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
