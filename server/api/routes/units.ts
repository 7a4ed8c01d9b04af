/**
 * Units: issue (one or a batch), confirm, quarantine, release, look up and list. Each handler
 * validates with the shared schema, calls one service function and shapes the answer; the route
 * table (route-table.ts) has already decided which roles reach it.
 */
import type { Context } from 'koa';
import {
  chipSerial, unitBatchRequest, unitConfirm, unitIssueRequest, unitListQuery, unitQuarantine, unitRelease,
  type UnitIssued,
} from '../../../common/protocol/station-api.js';
import { toPem } from '../../../common/pem.js';
import { readJson, validate } from '../middleware/body.js';
import { principalOf } from '../middleware/mtls.js';
import { errorResponse } from '../errors.js';
import type { MountRoute } from '../route.js';
import type { ApiDeps } from '../deps.js';

/** Mounts the /v1/units routes. */
export function mountUnits(mount: MountRoute, deps: ApiDeps): void {
  const issued = (name: string, n: number) => deps.metrics.inc('keyline_certificates_issued_total', 'Device certificates issued.', { via: name }, n);
  const serialParam = (params: Record<string, string>) => validate(chipSerial, params.serial);

  mount('POST /v1/units', async (ctx) => {
    const body = await readJson(ctx, unitIssueRequest, deps.bodyLimitBytes);
    const r = await deps.provisioning.issueUnit(body, principalOf(ctx).id);
    if (!r.replayed) issued('single', 1);
    ctx.status = r.replayed ? 200 : 201;
    ctx.body = issuedBody(r, chainOf(deps, r.certificateDer));
  });

  mount('POST /v1/units:batch', batchHandler(deps));

  mount('POST /v1/units/:serial/confirm', async (ctx) => {
    const body = await readJson(ctx, unitConfirm, deps.bodyLimitBytes);
    ctx.body = await deps.provisioning.confirmUnit(serialParam(ctx.params), body, principalOf(ctx));
  });

  mount('POST /v1/units/:serial/quarantine', async (ctx) => {
    const body = await readJson(ctx, unitQuarantine, deps.bodyLimitBytes);
    ctx.body = await deps.provisioning.quarantineUnit(serialParam(ctx.params), body.reason, principalOf(ctx));
  });

  mount('POST /v1/units/:serial/release', async (ctx) => {
    const body = await readJson(ctx, unitRelease, deps.bodyLimitBytes);
    ctx.body = await deps.provisioning.releaseUnit(serialParam(ctx.params), body.reason, principalOf(ctx));
  });

  mount('GET /v1/units/:serial', async (ctx) => {
    ctx.body = await deps.provisioning.getUnit(serialParam(ctx.params), principalOf(ctx));
  });

  mount('GET /v1/units', async (ctx) => {
    const q = validate(unitListQuery, ctx.query);
    ctx.body = await deps.provisioning.listUnits(q);
  });
}

/** POST /v1/units:batch: up to 100 units, each validated and answered on its own. */
function batchHandler(deps: ApiDeps) {
  return async function batch(ctx: Context): Promise<void> {
    const { units } = await readJson(ctx, unitBatchRequest, deps.bodyLimitBytes);
    // Each element is validated on its own so one bad unit does not sink the other 99.
    const parsed = units.map((u) => {
      try {
        return { ok: true as const, req: validate(unitIssueRequest, u) };
      } catch (err) {
        return { ok: false as const, err, serial: (u as { serial?: unknown })?.serial };
      }
    });
    const valid = parsed.flatMap((p) => (p.ok ? [p.req] : []));
    const results = valid.length ? await deps.provisioning.issueBatch(valid, principalOf(ctx).id) : [];
    let next = 0;
    let count = 0;
    // The chain is given once; a unit another CA signed (a replay from before a rotation) carries its own.
    const firstIssued = results.find((r) => r.ok);
    const batchChain = firstIssued?.ok ? chainOf(deps, firstIssued.value.certificateDer) : chainOf(deps);
    ctx.body = {
      results: parsed.map((p) => {
        if (!p.ok) return { ok: false, serial: typeof p.serial === 'string' ? p.serial : undefined, error: errorResponse(p.err).body.error };
        const r = results[next++]!;
        if (!r.ok) return { ok: false, serial: p.req.serial, error: errorResponse(r.error).body.error };
        if (!r.value.replayed) count++;
        const { chainPem, ...unit } = issuedBody(r.value, chainOf(deps, r.value.certificateDer));
        return { ok: true, ...unit, ...(chainPem === batchChain ? {} : { chainPem }) };
      }),
      chainPem: batchChain,
    };
    // A batch answer is large (100 certificates). Node's HTTP server can drop a keep-alive
    // connection with HPE_PAUSED when the client's next request arrives while such a response
    // is still draining (nodejs/node#3332 family); a fresh connection per batch costs one TLS
    // handshake per 100 units.
    ctx.set('Connection', 'close');
    if (count) deps.metrics.inc('keyline_certificates_issued_total', 'Device certificates issued.', { via: 'batch' }, count);
  };
}

/** The chain of the CA that signed `der` (several CAs: issue 19), else the configured one. */
function chainOf(deps: ApiDeps, der?: Uint8Array): string {
  return deps.chainFor?.(der) ?? deps.chainPem;
}

/** The 201 body for an issued unit. */
function issuedBody(r: { serial: string; certificateDer: Uint8Array; fingerprintSha256: string; certificateSerial: string }, chainPem: string): UnitIssued {
  return {
    serial: r.serial,
    certificatePem: toPem(r.certificateDer),
    chainPem,
    fingerprintSha256: r.fingerprintSha256,
    certificateSerial: r.certificateSerial,
  };
}
