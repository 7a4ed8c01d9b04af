/**
 * Routes any caller may reach without a station identity: liveness, metrics, the CA chain and
 * the API description.
 */
import type Router from '@koa/router';
import type { ApiDeps } from '../app.js';
import { openApiDocument } from '../openapi.js';

/** Mounts /health, /metrics, /v1/ca/chain and /v1/openapi.json. */
export function mountPublic(router: Router, deps: ApiDeps): void {
  router.get('/health', async (ctx) => {
    const report = await deps.health();
    ctx.status = report.ok ? 200 : 503;
    ctx.body = report;
  });
  router.get('/metrics', (ctx) => {
    ctx.type = 'text/plain; version=0.0.4';
    ctx.body = deps.metrics.render();
  });
  router.get('/v1/ca/chain', (ctx) => {
    ctx.type = 'application/pem-certificate-chain';
    ctx.body = deps.chainPem;
  });
  const doc = openApiDocument();
  router.get('/v1/openapi.json', (ctx) => {
    ctx.body = doc;
  });
}
