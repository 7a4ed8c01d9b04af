/**
 * Reads a console form: application/x-www-form-urlencoded in UTF-8, at most 16 KiB, each field
 * once. Anything else is refused with the same codes the JSON API uses (415, 413, 400).
 */
import type { Context } from 'koa';
import { KeylineError, ValidationError } from '../../common/errors.js';

const LIMIT = 16 * 1024;

/** The form's fields; a field named in `multi` may repeat (checkboxes) and comes back joined with commas. */
export async function readForm(ctx: Context, multi: readonly string[] = []): Promise<Record<string, string>> {
  const type = ctx.get('content-type').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    ctx.set('Connection', 'close');
    throw new KeylineError('UNSUPPORTED_MEDIA_TYPE', `content-type: expected application/x-www-form-urlencoded, got '${type.slice(0, 100)}'`);
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    ctx.req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= LIMIT) chunks.push(chunk);
    });
    ctx.req.on('end', () => {
      if (size <= LIMIT) return resolve(Buffer.concat(chunks));
      ctx.set('Connection', 'close');
      reject(new ValidationError('BODY_TOO_LARGE', `form exceeds the ${LIMIT}-byte limit`));
    });
    ctx.req.on('error', reject);
  });
  const fields: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(body.toString('utf8'))) {
    if (Object.hasOwn(fields, k)) {
      if (!multi.includes(k)) throw new ValidationError('VALIDATION_FAILED', `${k}: given twice`);
      fields[k] += `,${v}`;
    } else {
      fields[k] = v;
    }
  }
  return fields;
}
