/**
 * Work orders: what a line may produce (product, quota, allowed stations).
 */
import type Router from '@koa/router';
import { workOrderCreate } from '../../../common/protocol/station-api.js';
import { readJson } from '../middleware/body.js';
import type { ApiDeps } from '../app.js';
import type { Principal } from '../middleware/mtls.js';

/** Mounts POST /v1/work-orders and GET /v1/work-orders/:id. */
export function mountWorkOrders(router: Router, deps: ApiDeps): void {
  router.post('/v1/work-orders', async (ctx) => {
    const body = await readJson(ctx, workOrderCreate, deps.bodyLimitBytes);
    const principal = ctx.state.principal as Principal;
    ctx.status = 201;
    ctx.body = await deps.provisioning.createWorkOrder(body, principal.id);
  });
  router.get('/v1/work-orders/:id', async (ctx) => {
    ctx.body = await deps.provisioning.getWorkOrder(ctx.params.id!);
  });
}
