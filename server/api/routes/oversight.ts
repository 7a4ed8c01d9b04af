/**
 * What operators, security officers and auditors read without touching the database: the audit
 * log (paged, and its chain verified) and the shipment gate's reconciliation.
 */
import { z } from 'zod';
import { workOrderId } from '../../../common/protocol/station-api.js';
import { validate } from '../middleware/body.js';
import type { MountRoute } from '../route.js';
import type { ApiDeps } from '../deps.js';

const auditQuery = z.object({
  afterSeq: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
}).strict();
const reconcileQuery = z.object({ workOrder: workOrderId.optional() }).strict();

/** Mounts GET /v1/audit, /v1/audit/verify and /v1/reconcile. */
export function mountOversight(mount: MountRoute, deps: ApiDeps): void {
  mount('GET /v1/audit', async (ctx) => {
    const q = validate(auditQuery, ctx.query);
    const limit = q.limit ?? 100;
    const records = await deps.oversight.auditPage(q.afterSeq ?? 0, limit);
    ctx.body = { records, nextAfterSeq: records.length === limit ? records[records.length - 1]!.seq : null };
  });
  mount('GET /v1/audit/verify', async (ctx) => {
    ctx.body = await deps.oversight.verifyAudit();
  });
  mount('GET /v1/reconcile', async (ctx) => {
    const q = validate(reconcileQuery, ctx.query);
    ctx.body = await deps.oversight.reconcile(q.workOrder);
  });
}
