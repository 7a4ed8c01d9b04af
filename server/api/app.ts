/**
 * createApp(deps) -> Koa: the HTTPS API. Every route is mounted through the route table
 * (route-table.ts), which decides before any handler runs whether a client certificate is needed
 * and which roles pass; a path no route matches is refused the same way. Handlers are thin:
 * everything they do goes through `deps`, which main.ts builds from config and tests from fixtures.
 */
import Koa from 'koa';
export type { ApiDeps } from './deps.js';
import { Router } from '@koa/router';
import type { ApiDeps } from './deps.js';
import { handleErrors } from './errors.js';
import { authenticate } from './middleware/mtls.js';
import { routeMounter, unmatched } from './route.js';
import { mountOversight } from './routes/oversight.js';
import { mountPublic } from './routes/public.js';
import { mountRevocations } from './routes/revocations.js';
import { mountUnits } from './routes/units.js';
import { mountWorkOrders } from './routes/work-orders.js';
import { estAuthenticate } from '../est/est-auth.js';
import { mountEst } from '../est/mount-est.js';
import { mountOperations } from './routes/operations.js';
import { consoleMiddleware, mountConsole } from '../console/mount.js';

/** Builds the Koa application. */
export function createApp(deps: ApiDeps): Koa {
  const app = new Koa({ proxy: false });
  app.use(requestLog(deps));
  app.use(handleErrors);
  app.use(consoleMiddleware());

  // Paths are case-sensitive and a trailing slash is another path (RFC 3986 §6.2.2.1): one
  // spelling per route, so nothing downstream has to normalise.
  const router = new Router({ sensitive: true, strict: true });
  const auth = authenticate(deps.auth);
  const mount = routeMounter(router, auth, deps.est && estAuthenticate(deps.est));
  mountPublic(mount, deps);
  mountWorkOrders(mount, deps);
  mountUnits(mount, deps);
  mountRevocations(mount, deps);
  mountOversight(mount, deps);
  // EST (RFC 7030) when keyline.json has an `est` section: devices' way in, beside the stations'.
  if (deps.est) mountEst(mount, deps.est);
  mountOperations(mount, deps);
  mountConsole(mount, deps);
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
