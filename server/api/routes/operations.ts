/**
 * The routes over the console's services (issue 18), for scripts and dashboards: the live line,
 * a station's pause report, a unit's story, and the preregistration outbox with retry and park.
 * Thin as the others: validate with the shared schema, call one service function.
 */
import { z } from 'zod';
import { KeylineError } from '../../../common/errors.js';
import { linePause, outboxPark } from '../../../common/protocol/operations.js';
import { chipSerial } from '../../../common/protocol/station-api.js';
import type { ApiDeps, ConsoleServices } from '../deps.js';
import { readJson, validate } from '../middleware/body.js';
import { principalOf } from '../middleware/mtls.js';
import type { MountRoute } from '../route.js';

const jobId = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** Mounts /v1/line, /v1/line/pauses, /v1/units/:serial/story and /v1/outbox. */
export function mountOperations(mount: MountRoute, deps: ApiDeps): void {
  const svc = (): ConsoleServices => {
    if (!deps.console) throw new KeylineError('NOT_SUPPORTED', 'the line and outbox services are not configured on this server');
    return deps.console;
  };
  mount('GET /v1/line', async (ctx) => {
    ctx.body = await svc().line.snapshot();
  });
  mount('POST /v1/line/pauses', async (ctx) => {
    const body = await readJson(ctx, linePause, deps.bodyLimitBytes);
    ctx.body = await svc().lineReports.reportPause(principalOf(ctx), body);
  });
  mount('GET /v1/units/:serial/story', async (ctx) => {
    ctx.body = await svc().inspection.story(validate(chipSerial, ctx.params.serial), principalOf(ctx));
  });
  mount('GET /v1/outbox', async (ctx) => {
    ctx.body = await svc().outbox.overview();
  });
  mount('POST /v1/outbox/:id/retry', async (ctx) => {
    ctx.body = await svc().outbox.retry(validate(jobId, ctx.params.id), principalOf(ctx));
  });
  mount('POST /v1/outbox/:id/park', async (ctx) => {
    const body = await readJson(ctx, outboxPark, deps.bodyLimitBytes);
    ctx.body = await svc().outbox.park(validate(jobId, ctx.params.id), body.reason, principalOf(ctx));
  });
}
