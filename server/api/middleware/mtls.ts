/**
 * Client authentication: the TLS layer has already checked the client certificate's chain against
 * this PKI (requestCert, ca = root + issuing); here the outcome becomes a principal (CN = id,
 * OU = role) or a typed 401/403. The handshake accepts unauthorised peers so that refusals carry
 * a JSON body. Which routes need a principal, and which roles, is the route table's decision
 * (route-table.ts); this file only answers "who is calling".
 */
import type { TLSSocket, PeerCertificate } from 'node:tls';
import type { Context, Middleware, Next } from 'koa';
import { KeylineError } from '../../../common/errors.js';
import { isRole, type Actor } from '../../../common/roles.js';

/** Who is calling, from its certificate. */
export interface Principal extends Actor {
  certificateSerial: string;
  fingerprintSha256: string;
}

/** Answers whether a certificate serial (lowercase hex) has been revoked. */
export type RevocationCheck = (certificateSerialHex: string) => Promise<boolean> | boolean;

/** What client authentication needs. */
export interface ClientAuthDeps {
  isRevoked: RevocationCheck;
  /** Called once per connection with the authenticated principal (records the identity). */
  onAuthenticated?: (p: Principal) => Promise<unknown>;
  /** How long a connection's "not revoked" answer is reused; a revocation takes effect within it. */
  revocationTtlMs?: number;
}

// The identity parsed from a connection's certificate never changes during the connection.
const identities = new WeakMap<TLSSocket, { principal: Principal; checkedAt: number }>();

/** Koa middleware that sets `ctx.state.principal` or refuses the request (401/403). */
export function authenticate(deps: ClientAuthDeps): Middleware {
  const ttl = deps.revocationTtlMs ?? 1000;
  return async function mtls(ctx: Context, next: Next): Promise<void> {
    const socket = ctx.req.socket as TLSSocket;
    let entry = identities.get(socket);
    if (!entry) {
      const principal = principalFromCertificate(socket);
      entry = { principal, checkedAt: -Infinity };
      identities.set(socket, entry);
      await deps.onAuthenticated?.(principal);
    }
    const { principal } = entry;
    // A keep-alive connection of a busy station carries thousands of requests: one revocation
    // lookup per `ttl` instead of one per request.
    if (performance.now() - entry.checkedAt > ttl) {
      if (await deps.isRevoked(principal.certificateSerial)) {
        throw new KeylineError('CERTIFICATE_REVOKED', `certificate ${principal.certificateSerial} of '${principal.id}' is revoked`);
      }
      entry.checkedAt = performance.now();
    }
    ctx.state.principal = principal;
    await next();
  };
}

/** The authenticated caller of a route that required one. */
export function principalOf(ctx: Context): Principal {
  const p = ctx.state.principal as Principal | undefined;
  // Unreachable through mountRoute: a non-public route always authenticates first.
  if (!p) throw new KeylineError('UNAUTHENTICATED', 'a TLS client certificate is required');
  return p;
}

function principalFromCertificate(socket: TLSSocket): Principal {
  if (typeof socket.getPeerCertificate !== 'function') throw new KeylineError('UNAUTHENTICATED', 'a TLS client certificate is required');
  const cert = socket.getPeerCertificate(false) as PeerCertificate | Record<string, never>;
  if (!cert || !('raw' in cert) || !cert.raw) throw new KeylineError('UNAUTHENTICATED', 'a TLS client certificate is required');
  if (!socket.authorized) {
    const reason = String(socket.authorizationError ?? 'unknown');
    if (reason === 'CERT_HAS_EXPIRED' || reason === 'CERT_NOT_YET_VALID') {
      throw new KeylineError('CERTIFICATE_EXPIRED', `client certificate is outside its validity period (${reason})`);
    }
    throw new KeylineError('CERTIFICATE_UNTRUSTED', `client certificate does not chain to this PKI (${reason})`);
  }
  // A subject with two OUs or two CNs is ambiguous: refuse it rather than pick one.
  const ou = single(cert.subject?.OU);
  const cn = single(cert.subject?.CN);
  // Device certificates chain to the same issuing CA but carry no OU role: they never pass here.
  if (!cn || !isRole(ou)) throw new KeylineError('FORBIDDEN', 'client certificate names no Keyline role (OU station, operator, security-officer or auditor)');
  return {
    id: cn,
    role: ou,
    certificateSerial: cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    fingerprintSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
  };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? undefined : v;
}
