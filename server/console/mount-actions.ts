/**
 * The console's actions (POST forms): each proves it came from the console (respond.ts: same
 * origin and the session's token), validates the form with the schema the JSON API uses, calls
 * the same service function as the API route (which audits it), and redirects to a page that
 * shows the outcome. The route table has already refused any role it does not list.
 */
import { z } from 'zod';
import { KeylineError, ValidationError } from '../../common/errors.js';
import { revocationRequest } from '../../common/protocol/revocation.js';
import { chipSerial, workOrderCreate, workOrderId } from '../../common/protocol/station-api.js';
import type { ApiDeps } from '../api/deps.js';
import { validate } from '../api/middleware/body.js';
import { principalOf } from '../api/middleware/mtls.js';
import type { MountRoute } from '../api/route.js';
import { servicesOf } from './mount-pages.js';
import { readConsoleForm, redirectDone } from './respond.js';

const jobId = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const reason = (f: Record<string, string>) => validate(z.string().trim().min(1, 'must not be empty').max(500), f.reason);
const confirmed = (f: Record<string, string>) => {
  if (f.confirm !== 'yes') throw new ValidationError('VALIDATION_FAILED', 'confirm: tick the confirmation box');
};

/** Mounts the POST routes of /console. */
export function mountConsoleActions(mount: MountRoute, deps: ApiDeps): void {
  const form = (ctx: Parameters<Parameters<MountRoute>[1]>[0], multi: string[] = []) => readConsoleForm(ctx, servicesOf(deps).csrfKey, multi);

  mount('POST /console/work-orders', async (ctx) => {
    const f = await form(ctx, ['registry']);
    const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const stations = list(f.stations);
    const registries = list(f.registry);
    const body = validate(workOrderCreate, {
      id: f.id, product: f.product, quota: Number(f.quota),
      ...(stations.length ? { stations } : {}),
      ...(registries.length ? { registries } : {}),
      ...(f.preregistration ? { preregistration: f.preregistration } : {}),
    });
    const wo = await deps.provisioning.createWorkOrder(body, principalOf(ctx).id);
    redirectDone(ctx, `/console/work-orders/${encodeURIComponent(wo.id)}`, 'created', wo.id);
  });
  mount('POST /console/work-orders/:id/close', async (ctx) => {
    const f = await form(ctx);
    confirmed(f);
    const wo = await deps.provisioning.closeWorkOrder(validate(workOrderId, ctx.params.id), principalOf(ctx).id);
    redirectDone(ctx, `/console/work-orders/${encodeURIComponent(wo.id)}`, 'closed', wo.id);
  });
  mount('POST /console/units/:serial/release', async (ctx) => {
    const f = await form(ctx);
    const u = await deps.provisioning.releaseUnit(validate(chipSerial, ctx.params.serial), reason(f), principalOf(ctx));
    redirectDone(ctx, '/console/quarantine', 'released', u.serial);
  });
  mount('POST /console/units/:serial/scrap', async (ctx) => {
    const f = await form(ctx);
    confirmed(f);
    const r = await servicesOf(deps).scrapUnit(validate(chipSerial, ctx.params.serial), reason(f), principalOf(ctx));
    redirectDone(ctx, '/console/revocation', 'scrapped', r.serial ?? r.certificateSerial, { checked: r.certificateSerial });
  });
  mount('POST /console/outbox/:id/retry', async (ctx) => {
    await form(ctx);
    const j = await servicesOf(deps).outbox.retry(validate(jobId, ctx.params.id), principalOf(ctx));
    redirectDone(ctx, '/console/preregistration', 'retried', String(j.id));
  });
  mount('POST /console/outbox/:id/park', async (ctx) => {
    const f = await form(ctx);
    const j = await servicesOf(deps).outbox.park(validate(jobId, ctx.params.id), reason(f), principalOf(ctx));
    redirectDone(ctx, '/console/preregistration', 'parked', String(j.id));
  });
  mount('POST /console/revocations', async (ctx) => {
    const f = await form(ctx);
    if (!deps.revocation) throw new KeylineError('NOT_SUPPORTED', 'revocation is not configured on this server');
    const target = (f.target ?? '').trim();
    if ((f.confirm ?? '').trim() !== target) throw new ValidationError('VALIDATION_FAILED', 'confirm: type the target exactly as above to confirm the revocation');
    const kind = validate(z.enum(['serial', 'workOrder', 'certificateSerial']), f.kind);
    const req = validate(revocationRequest, { [kind]: target, reason: f.reason });
    const revoked = await deps.revocation.revoke(req, principalOf(ctx).id);
    redirectDone(ctx, '/console/revocation', 'revoked', `${kind === 'workOrder' ? 'work order ' : ''}${target} (${revoked.length} certificate(s))`, { checked: revoked.slice(0, 20).map((r) => r.certificateSerial).join(',') });
  });
}
