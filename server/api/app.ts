/**
 * createApp(deps) -> Koa: the HTTPS API. Every route is mounted through the route table
 * (route-table.ts), which decides before any handler runs whether a client certificate is needed
 * and which roles pass; a path no route matches is refused the same way. Handlers are thin:
 * everything they do goes through `deps`, which main.ts builds from config and tests from fixtures.
 */
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Logger } from 'pino';
import type { AuditVerdict } from '../audit/audit-log.js';
import type { Provisioning } from '../services/provisioning.js';
import type { ReconcileReport } from '../services/reconcile.js';
import type { Revocation } from '../services/revocation.js';
import type { AuditRecord } from '../store/store.js';
import { handleErrors } from './errors.js';
import { authenticate, type ClientAuthDeps } from './middleware/mtls.js';
import { Metrics } from './metrics.js';
import { routeMounter, unmatched } from './route.js';
import { mountOversight } from './routes/oversight.js';
import { mountPublic } from './routes/public.js';
import { mountRevocations } from './routes/revocations.js';
import { mountUnits } from './routes/units.js';
import { mountWorkOrders } from './routes/work-orders.js';

/** What the API needs. */
export interface ApiDeps {
  provisioning: Provisioning;
  /** Revocation (POST /v1/revocations); answers NOT_SUPPORTED without it. */
  revocation?: Revocation;
  /** Read-only views for operators, officers and auditors. */
  oversight: {
    auditPage(afterSeq: number, limit: number): Promise<AuditRecord[]>;
    verifyAudit(): Promise<AuditVerdict>;
    reconcile(workOrder?: string): Promise<ReconcileReport>;
  };
  /** The issuing CA and root certificates, PEM, returned with every issued certificate. */
  chainPem: string;
  auth: ClientAuthDeps;
  health: () => Promise<{ ok: boolean; checks: Record<string, unknown> }>;
  metrics: Metrics;
  log: Logger;
  bodyLimitBytes: number;
}

/** Builds the Koa application. */
export function createApp(deps: ApiDeps): Koa {
  const app = new Koa({ proxy: false });
  app.use(requestLog(deps));
  app.use(handleErrors);

  // Paths are case-sensitive and a trailing slash is another path (RFC 3986 §6.2.2.1): one
  // spelling per route, so nothing downstream has to normalise.
  const router = new Router({ sensitive: true, strict: true });
  const auth = authenticate(deps.auth);
  const mount = routeMounter(router, auth);
  mountPublic(mount, deps);
  mountWorkOrders(mount, deps);
  mountUnits(mount, deps);
  mountRevocations(mount, deps);
  mountOversight(mount, deps);
  app.use(router.routes());
  app.use(unmatched(router, auth));

  app.on('error', (err: unknown, ctx?: Koa.Context) => {
    deps.log.error({ err, method: ctx?.method, path: ctx?.path }, 'request failed');
  });
  return app;
}

function requestLog(deps: ApiDeps): Koa.Middleware {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // The table's key (the route's name), never the raw path: metrics labels stay bounded.
      const route = (ctx as unknown as { _matchedRouteName?: string })._matchedRouteName ?? 'other';
      deps.metrics.observeRequest(route, seconds);
      const code = ctx.state.errorCode as string | undefined;
      if (code) deps.metrics.inc('keyline_api_refusals_total', 'Requests refused, by error code.', { code });
      deps.log.debug({ method: ctx.method, route, status: ctx.status, ms: seconds * 1000, principal: ctx.state.principal?.id, code }, 'request');
    }
  };
}
