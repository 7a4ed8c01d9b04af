/**
 * createApp(deps) -> Koa: the station API. Handlers are thin; everything they do goes through
 * `deps`, which main.ts builds from config and tests build from fixtures.
 */
import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from 'pino';
import { handleErrors } from './errors.js';
import { requireStation, type StationAuthDeps } from './middleware/mtls.js';
import { Metrics } from './metrics.js';
import { mountPublic } from './routes/public.js';
import { mountWorkOrders } from './routes/work-orders.js';
import { mountRevocations } from './routes/revocations.js';
import { batchHandler, mountUnits } from './routes/units.js';
import type { Provisioning } from '../services/provisioning.js';
import type { Revocation } from '../services/revocation.js';

/** What the API needs. */
export interface ApiDeps {
  provisioning: Provisioning;
  /** Revocation (POST /v1/revocations, security officers only); the route is absent without it. */
  revocation?: Revocation;
  /** The issuing CA and root certificates, PEM, returned with every issued certificate. */
  chainPem: string;
  auth: StationAuthDeps;
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

  const open = new Router();
  mountPublic(open, deps);
  app.use(open.routes());

  const secured = new Router();
  mountWorkOrders(secured, deps);
  mountUnits(secured, deps);
  mountRevocations(secured, deps);
  const batch = batchHandler(deps);
  const mtls = requireStation(deps.auth);
  app.use(async (ctx, next) => {
    if (ctx.path.startsWith('/v1/') && !ctx.path.startsWith('/v1/ca/') && ctx.path !== '/v1/openapi.json') {
      return mtls(ctx, async () => {
        if (ctx.path === '/v1/units:batch' && ctx.method === 'POST') return batch(ctx);
        return next();
      });
    }
    return next();
  });
  app.use(secured.routes());
  app.use(secured.allowedMethods());

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
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? (ctx.path === '/v1/units:batch' ? '/v1/units:batch' : 'other');
      deps.metrics.observeRequest(route, seconds);
      const code = ctx.state.errorCode as string | undefined;
      if (code) deps.metrics.inc('keyline_api_refusals_total', 'Requests refused, by error code.', { code });
      deps.log.debug({ method: ctx.method, route, status: ctx.status, ms: seconds * 1000, station: ctx.state.principal?.id, code }, 'request');
    }
  };
}
