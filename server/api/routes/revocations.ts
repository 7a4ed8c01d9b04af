/**
 * POST /v1/revocations: revoke a unit, a work order's units or one certificate. Security officers
 * only (a station must never be able to cut off devices); the service does the work.
 */
import type Router from '@koa/router';
import { KeylineError } from '../../../common/errors.js';
import { revocationRequest } from '../../services/revocation.js';
import { readJson } from '../middleware/body.js';
import { requireRole, type Principal } from '../middleware/mtls.js';
import type { ApiDeps } from '../app.js';

/** Mounts POST /v1/revocations (answers NOT_SUPPORTED when the server runs without the revocation service). */
export function mountRevocations(router: Router, deps: ApiDeps): void {
  router.post('/v1/revocations', requireRole('security-officer'), async (ctx) => {
    if (!deps.revocation) throw new KeylineError('NOT_SUPPORTED', 'revocation is not configured on this server');
    const body = await readJson(ctx, revocationRequest, deps.bodyLimitBytes);
    const principal = ctx.state.principal as Principal;
    const revoked = await deps.revocation.revoke(body, principal.id);
    ctx.body = { revoked };
  });
}
