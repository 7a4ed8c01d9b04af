/**
 * Work orders: what a line may produce (product, quota, allowed stations, registries).
 * Operators create, change and close them; stations read the orders they are allowed on.
 */
import { workOrderCreate, workOrderId, workOrderUpdate } from '../../../common/protocol/station-api.js';
import { readJson, validate } from '../middleware/body.js';
import { principalOf } from '../middleware/mtls.js';
import type { MountRoute } from '../route.js';
import type { ApiDeps } from '../deps.js';

/** Mounts the /v1/work-orders routes. */
export function mountWorkOrders(mount: MountRoute, deps: ApiDeps): void {
  const idParam = (params: Record<string, string>) => validate(workOrderId, params.id);

  mount('POST /v1/work-orders', async (ctx) => {
    const body = await readJson(ctx, workOrderCreate, deps.bodyLimitBytes);
    ctx.status = 201;
    ctx.body = await deps.provisioning.createWorkOrder(body, principalOf(ctx).id);
  });
  mount('GET /v1/work-orders', async (ctx) => {
    ctx.body = { workOrders: await deps.provisioning.listWorkOrders() };
  });
  mount('GET /v1/work-orders/:id', async (ctx) => {
    ctx.body = await deps.provisioning.getWorkOrder(idParam(ctx.params), principalOf(ctx));
  });
  mount('PATCH /v1/work-orders/:id', async (ctx) => {
    const body = await readJson(ctx, workOrderUpdate, deps.bodyLimitBytes);
    ctx.body = await deps.provisioning.updateWorkOrder(idParam(ctx.params), body, principalOf(ctx).id);
  });
  mount('POST /v1/work-orders/:id/close', async (ctx) => {
    ctx.body = await deps.provisioning.closeWorkOrder(idParam(ctx.params), principalOf(ctx).id);
  });
}
