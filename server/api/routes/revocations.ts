/**
 * POST /v1/revocations: revoke a unit, a work order's units or one certificate. Security officers
 * only (route table: a station must never be able to cut off devices); the service does the work.
 */
import { KeylineError } from '../../../common/errors.js';
import { revocationRequest } from '../../../common/protocol/revocation.js';
import { readJson } from '../middleware/body.js';
import { principalOf } from '../middleware/mtls.js';
import type { MountRoute } from '../route.js';
import type { ApiDeps } from '../deps.js';

/** Mounts POST /v1/revocations (answers NOT_SUPPORTED when the server runs without the revocation service). */
export function mountRevocations(mount: MountRoute, deps: ApiDeps): void {
  mount('POST /v1/revocations', async (ctx) => {
    if (!deps.revocation) throw new KeylineError('NOT_SUPPORTED', 'revocation is not configured on this server');
    const body = await readJson(ctx, revocationRequest, deps.bodyLimitBytes);
    ctx.body = { revoked: await deps.revocation.revoke(body, principalOf(ctx).id) };
  });
}
