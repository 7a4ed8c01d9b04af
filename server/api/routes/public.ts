/**
 * Liveness, metrics, the CA chain and the API description. The route table says which need no
 * identity (health, chain, description) and who may read the metrics.
 */
import type { ApiDeps } from '../deps.js';
import { openApiDocument } from '../openapi.js';
import type { MountRoute } from '../route.js';

/** Mounts /health, /metrics, /v1/ca/chain and /v1/openapi.json. */
export function mountPublic(mount: MountRoute, deps: ApiDeps): void {
  mount('GET /health', async (ctx) => {
    const report = await deps.health();
    ctx.status = report.ok ? 200 : 503;
    ctx.body = report;
  });
  mount('GET /metrics', (ctx) => {
    ctx.type = 'text/plain; version=0.0.4';
    ctx.body = deps.metrics.render();
  });
  mount('GET /v1/ca/chain', (ctx) => {
    ctx.type = 'application/pem-certificate-chain';
    ctx.body = deps.chainFor?.() ?? deps.chainPem;
  });
  const doc = openApiDocument();
  mount('GET /v1/openapi.json', (ctx) => {
    ctx.body = doc;
  });
}
