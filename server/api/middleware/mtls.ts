/**
 * Station authentication: the TLS layer has already checked the client certificate's chain against
 * this PKI (requestCert, ca = root + issuing); here the outcome becomes a principal or a typed
 * 401/403. The handshake itself accepts unauthorised peers so that refusals carry a JSON body.
 */
import type { TLSSocket, PeerCertificate } from 'node:tls';
import type { Context, Next } from 'koa';
import { KeylineError } from '../../../common/errors.js';

/** Who is calling: a station or a security officer, from its certificate subject (CN = id, OU = role). */
export interface Principal {
  id: string;
  role: 'station' | 'security-officer';
  certificateSerial: string;
  fingerprintSha256: string;
}

/** Answers whether a certificate serial (lowercase hex) has been revoked. */
export type RevocationCheck = (certificateSerialHex: string) => Promise<boolean> | boolean;

/** What station authentication needs. */
export interface StationAuthDeps {
  isRevoked: RevocationCheck;
  /** Called once per connection with the authenticated principal (records the station). */
  onAuthenticated?: (p: Principal) => Promise<unknown>;
  /** How long a connection's "not revoked" answer is reused; a revocation takes effect within it. */
  revocationTtlMs?: number;
}

const ROLES = new Set(['station', 'security-officer']);
// The identity parsed from a connection's certificate never changes during the connection.
const identities = new WeakMap<TLSSocket, { principal: Principal; checkedAt: number }>();

/** Koa middleware that sets `ctx.state.principal` or refuses the request. */
export function requireStation(deps: StationAuthDeps) {
  const ttl = deps.revocationTtlMs ?? 1000;
  return async function mtls(ctx: Context, next: Next): Promise<void> {
    const socket = ctx.req.socket as TLSSocket;
    let entry = identities.get(socket);
    if (!entry) {
      const principal = authenticate(socket);
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

/** Requires the principal to hold `role`. */
export function requireRole(role: Principal['role']) {
  return async function role_(ctx: Context, next: Next): Promise<void> {
    const p = ctx.state.principal as Principal | undefined;
    if (!p || p.role !== role) throw new KeylineError('FORBIDDEN', `this action needs the '${role}' role`);
    await next();
  };
}

function authenticate(socket: TLSSocket): Principal {
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
  const ou = first(cert.subject?.OU);
  const cn = first(cert.subject?.CN);
  // Device certificates chain to the same issuing CA but carry no OU role: they never pass here.
  if (!cn || !ou || !ROLES.has(ou)) throw new KeylineError('FORBIDDEN', 'client certificate is not a station or security-officer identity');
  return {
    id: cn,
    role: ou as Principal['role'],
    certificateSerial: cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    fingerprintSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
  };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
