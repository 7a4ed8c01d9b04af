/**
 * The console's pages (GET): each validates its parameters, calls the services the API calls,
 * and renders. Who may open them is the route table's decision, made before any of this runs.
 */
import { CHIP_SERIAL_ANY_CASE_RE } from '../../common/chip-serial.js';
import { Readable } from 'node:stream';
import type { RouterContext } from '@koa/router';
import { KeylineError } from '../../common/errors.js';
import { chipSerial, unitListQuery, workOrderId } from '../../common/protocol/station-api.js';
import type { ApiDeps, ConsoleServices } from '../api/deps.js';
import { validate } from '../api/middleware/body.js';
import { principalOf } from '../api/middleware/mtls.js';
import type { MountRoute } from '../api/route.js';
import { consoleAsset } from './assets.js';
import { openLineStream } from './line-stream.js';
import { auditPage } from './pages/audit.js';
import { linePage } from './pages/line.js';
import { preregistrationPage } from './pages/preregistration.js';
import { quarantinePage } from './pages/quarantine.js';
import { revocationPage } from './pages/revocation.js';
import { unitPage, unitsPage } from './pages/units.js';
import { workOrderPage, workOrdersPage } from './pages/work-orders.js';
import { pageContext, sendPage } from './respond.js';

/** The console's services, or NOT_SUPPORTED on a server built without them. */
export function servicesOf(deps: ApiDeps): ConsoleServices {
  if (!deps.console) throw new KeylineError('NOT_SUPPORTED', 'the console is not configured on this server');
  return deps.console;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** Mounts the GET routes of /console. */
export function mountConsolePages(mount: MountRoute, deps: ApiDeps): void {
  const pc = (ctx: RouterContext) => pageContext(ctx, servicesOf(deps).csrfKey);

  mount('GET /console', (ctx) => {
    servicesOf(deps);
    ctx.redirect('/console/line');
  });
  mount('GET /console/assets/:file', (ctx) => {
    const a = consoleAsset(ctx.params.file ?? '');
    if (!a) throw new KeylineError('NOT_FOUND', `no console asset '${String(ctx.params.file).slice(0, 100)}'`);
    ctx.type = a.type;
    ctx.set('Cache-Control', 'private, max-age=300');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = a.body;
  });
  mount('GET /console/line', async (ctx) => sendPage(ctx, linePage(pc(ctx), await servicesOf(deps).line.snapshot())));
  mount('GET /console/line/events', (ctx) => {
    const s = servicesOf(deps);
    return openLineStream(ctx, { line: s.line, isRevoked: deps.auth.isRevoked, maxStreams: s.maxStreams ?? 64 });
  });
  mount('GET /console/work-orders', async (ctx) => {
    const c = pc(ctx);
    sendPage(ctx, workOrdersPage(c, await deps.provisioning.listWorkOrders(), servicesOf(deps).registryNames));
  });
  mount('GET /console/work-orders/:id', async (ctx) => {
    const c = pc(ctx);
    sendPage(ctx, workOrderPage(c, await servicesOf(deps).progress(validate(workOrderId, ctx.params.id))));
  });
  mount('GET /console/units', async (ctx) => {
    const c = pc(ctx);
    const term = str(ctx.query.q)?.slice(0, 100);
    if (term) {
      const found = await servicesOf(deps).inspection.find(term);
      if (found) return ctx.redirect(`/console/units/${found.unit.serial}`);
    }
    const q = validate(unitListQuery, { workOrder: str(ctx.query.workOrder), status: str(ctx.query.status), cursor: str(ctx.query.cursor) });
    sendPage(ctx, unitsPage(c, { term: term ?? '', workOrder: q.workOrder, status: q.status, notFound: term !== undefined }, await deps.provisioning.listUnits({ ...q, limit: 50 })), term ? 404 : 200);
  });
  mount('GET /console/units/:serial', async (ctx) => {
    const c = pc(ctx);
    sendPage(ctx, unitPage(c, await servicesOf(deps).inspection.story(validate(chipSerial, ctx.params.serial), principalOf(ctx))));
  });
  mount('GET /console/quarantine', async (ctx) => {
    const c = pc(ctx);
    const page = await deps.provisioning.listUnits({ status: 'quarantined', limit: 100 });
    sendPage(ctx, quarantinePage(c, page.units, page.nextCursor !== null));
  });
  mount('GET /console/preregistration', async (ctx) => {
    const c = pc(ctx);
    const s = servicesOf(deps);
    const open = (await deps.provisioning.listWorkOrders()).filter((w) => w.status === 'open').slice(0, 20);
    const gates = await Promise.all(open.map(async (workOrder) => ({ workOrder, report: await deps.oversight.reconcile(workOrder.id) })));
    sendPage(ctx, preregistrationPage(c, await s.outbox.overview(), gates));
  });
  mount('GET /console/revocation', async (ctx) => {
    const c = pc(ctx);
    const s = servicesOf(deps);
    const checked = (str(ctx.query.checked) ?? '').split(',').filter((x) => /^[0-9a-f]{1,40}$/.test(x)).slice(0, 20);
    const statuses = deps.revocation ? await Promise.all(checked.map(async (certificateSerial) => ({ certificateSerial, status: await deps.revocation!.certificateStatus(certificateSerial) }))) : [];
    const serial = str(ctx.query.serial);
    sendPage(ctx, revocationPage(c, { crl: s.crl(), checked: statuses, prefill: { kind: 'serial', target: serial && CHIP_SERIAL_ANY_CASE_RE.test(serial) ? serial : '' } }));
  });
  mount('GET /console/audit', async (ctx) => {
    const c = pc(ctx);
    const s = servicesOf(deps);
    const status = ctx.query.full === '1' ? await s.audit.verifyAll() : await s.audit.status();
    const headSeq = status.head?.seq ?? 0;
    const newest = (await deps.oversight.auditPage(Math.max(0, headSeq - 50), 50)).reverse();
    sendPage(ctx, auditPage(c, status, newest));
  });
  mount('GET /console/audit/export', async (ctx) => {
    servicesOf(deps);
    ctx.type = 'application/x-ndjson';
    ctx.set('Content-Disposition', `attachment; filename="keyline-audit-${new Date().toISOString().slice(0, 10)}.ndjson"`);
    ctx.body = Readable.from(exportAudit(deps));
  });
}

/** The whole log as one JSON record per line, read a page at a time. */
async function* exportAudit(deps: ApiDeps): AsyncGenerator<string> {
  for (let after = 0; ;) {
    const page = await deps.oversight.auditPage(after, 1000);
    if (page.length) yield page.map((r) => JSON.stringify(r)).join('\n') + '\n';
    if (page.length < 1000) return;
    after = page[page.length - 1]!.seq;
  }
}
