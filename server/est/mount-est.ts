/**
 * The EST routes (RFC 7030 as updated by RFC 8951) on the HTTPS listener, each with and without
 * a label: cacerts and csrattrs need no identity (§4.1.1, §4.5.1: 'public' in the route table),
 * the enrollment operations need one (the table's 'est' access kind, est-auth.ts); serverkeygen
 * and fullcmc answer 501, since keys are generated in the secure element and CMC is not offered.
 */
import type { Context } from 'koa';
import { KeylineError } from '../../common/errors.js';
import { fromPemAll } from '../../common/pem.js';
import type { MountRoute, RouteHandler } from '../api/route.js';
import type { RouteKey } from '../api/route-table.js';
import { csrAttrsDer } from './csr-attrs.js';
import type { EstDeps } from './est-deps.js';
import { labelOf } from './est-auth.js';
import { simpleEnroll, simpleReenroll } from './enroll-handlers.js';
import { certsOnly } from './pkcs7-certs-only.js';
import { EST_TYPES, sendDer, sendEstError, sendNoContent } from './est-response.js';

/** Refusals of the routes that need no identity, as EST answers (the 'est' kind does this for the others). */
function answering(deps: EstDeps, handler: (ctx: Context) => Promise<void> | void): RouteHandler {
  return async (ctx) => {
    try {
      await handler(ctx);
    } catch (err) {
      sendEstError(ctx, err, deps.realm);
    }
  };
}

function notSupported(what: string): RouteHandler {
  return () => {
    throw new KeylineError('NOT_SUPPORTED', `EST: ${what}`);
  };
}

/** Mounts every EST route through the route table. */
export function mountEst(mount: MountRoute, deps: EstDeps): void {
  const cacerts = answering(deps, (ctx) => {
    const label = labelOf(ctx, deps);
    // §4.1.3: the chain of the CA that issues, the root (self-signed) included.
    sendDer(ctx, EST_TYPES.cacerts, certsOnly(fromPemAll(deps.caChainPem())), label.base64LineLength);
  });
  const csrattrs = answering(deps, (ctx) => {
    const label = labelOf(ctx, deps);
    if (!label.csrattrs) return sendNoContent(ctx);
    sendDer(ctx, EST_TYPES.csrattrs, csrAttrsDer({ popLinking: label.requirePopLinking }), label.base64LineLength);
  });
  const routes: Array<[RouteKey, RouteKey, RouteHandler]> = [
    ['GET /.well-known/est/cacerts', 'GET /.well-known/est/:label/cacerts', cacerts],
    ['GET /.well-known/est/csrattrs', 'GET /.well-known/est/:label/csrattrs', csrattrs],
    ['POST /.well-known/est/simpleenroll', 'POST /.well-known/est/:label/simpleenroll', simpleEnroll(deps)],
    ['POST /.well-known/est/simplereenroll', 'POST /.well-known/est/:label/simplereenroll', simpleReenroll(deps)],
    ['POST /.well-known/est/serverkeygen', 'POST /.well-known/est/:label/serverkeygen', notSupported('serverkeygen: keys are generated in the device\'s secure element')],
    ['POST /.well-known/est/fullcmc', 'POST /.well-known/est/:label/fullcmc', notSupported('fullcmc is not offered')],
  ];
  for (const [plain, labelled, handler] of routes) {
    mount(plain, handler);
    mount(labelled, handler);
  }
}
