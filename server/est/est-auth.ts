/**
 * Who is enrolling over EST: the route table's 'est' access kind (route-table.ts). A TLS client
 * certificate of this PKI (a station acting for devices, or a device's line certificate for
 * re-enrollment), a birth certificate issued by a CA the label names, or the label's HTTP Basic
 * credentials; anything else is 401 with a Basic challenge (RFC 7030 §3.2.3). A certificate
 * wins over Basic credentials. Which identity may call which operation is the handler's rule.
 */
import { createHmac, randomBytes, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Context, Middleware, Next } from 'koa';
import { KeylineError } from '../../common/errors.js';
import { chipSerial, type ChipSerial } from '../../common/protocol/station-api.js';
import type { EstDeps, EstLabel } from './est-deps.js';
import { sendEstError } from './est-response.js';
import { tlsUniqueOf } from './tls-unique.js';

/** An authenticated EST client. */
export interface EstIdentity {
  label: EstLabel;
  kind: 'station' | 'device' | 'birth' | 'basic';
  /** Recorded as the actor: the station's id, the device's serial, or `est.<label>` (what work orders' station lists name). */
  actor: string;
  /** The client's certificate (station, device, birth). */
  certificate?: { der: Uint8Array; serialHex: string };
  /** The chip serial a device or birth certificate names (CN or serialNumber of 18 hex digits), if any. */
  certifiedSerial?: ChipSerial;
  /** The connection's tls-unique (TLS 1.2), for challengePassword. */
  tlsUnique: string | null;
}

/** The identity the 'est' access kind established for this request. */
export function estIdentityOf(ctx: Context): EstIdentity {
  const id = ctx.state.est as EstIdentity | undefined;
  if (!id) throw new KeylineError('UNAUTHENTICATED', 'EST: no authenticated client');
  return id;
}

/** The label a request names (its path segment, or the default label). NOT_FOUND otherwise. */
export function labelOf(ctx: Context, deps: EstDeps): EstLabel {
  const name = (ctx.params as Record<string, string> | undefined)?.label ?? deps.defaultLabel;
  const label = name === undefined ? undefined : deps.labels.get(name);
  if (!label) throw new KeylineError('NOT_FOUND', name === undefined ? 'EST: this server serves labelled paths only (/.well-known/est/<label>/...)' : `EST: no label '${name}'`);
  return label;
}

/** The middleware of the 'est' access kind: authenticates, then runs the handler; every refusal is an EST answer. */
export function estAuthenticate(deps: EstDeps): Middleware {
  // Verified Basic passwords, by HMAC under a per-process key: scrypt costs tens of milliseconds,
  // a client enrolling a batch should pay it once. Bounded; a wrong password is never cached.
  const verified = new Set<string>();
  const cacheKey = randomBytes(32);
  return async function est(ctx: Context, next: Next): Promise<void> {
    try {
      const label = labelOf(ctx, deps);
      ctx.state.est = (await fromCertificate(ctx, deps, label)) ?? (await fromBasic(ctx, label, verified, cacheKey));
      await next();
    } catch (err) {
      sendEstError(ctx, err, deps.realm);
    }
  };
}

/** The 18-hex chip serial a certificate's subject names (serialNumber, then CN), if any. */
function serialNamedBy(cert: X509Certificate): ChipSerial | undefined {
  for (const line of cert.subject.split('\n')) {
    const [k, v] = line.split('=', 2) as [string, string | undefined];
    if ((k === 'serialNumber' || k === 'CN') && v) {
      const p = chipSerial.safeParse(v.replace(/^sn/i, ''));
      if (p.success) return p.data;
    }
  }
  return undefined;
}

async function fromCertificate(ctx: Context, deps: EstDeps, label: EstLabel): Promise<EstIdentity | null> {
  const socket = ctx.req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return null;
  const peer = socket.getPeerCertificate(false);
  if (!peer || !('raw' in peer) || !peer.raw) return null;
  const tlsUnique = tlsUniqueOf(socket);
  const der = new Uint8Array(peer.raw);
  const serialHex = peer.serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
  const certificate = { der, serialHex };
  if (socket.authorized) {
    // A certificate of this PKI: a role (OU) or a device (no OU, CN = chip serial).
    const ou = peer.subject?.OU;
    const cn = peer.subject?.CN;
    if (typeof cn !== 'string' || Array.isArray(ou)) throw new KeylineError('FORBIDDEN', 'EST: the client certificate names no single identity');
    if (ou === undefined) {
      const serial = chipSerial.safeParse(cn);
      if (!serial.success) throw new KeylineError('FORBIDDEN', 'EST: a certificate of this PKI without a role names no device');
      // Revocation and standing are the re-enrollment service's checks (a superseded certificate may replay).
      return { label, kind: 'device', actor: serial.data, certificate, certifiedSerial: serial.data, tlsUnique };
    }
    if (ou !== 'station') throw new KeylineError('FORBIDDEN', `EST: '${cn}' is ${ou}; only stations and devices enroll`);
    if (!label.stations) throw new KeylineError('FORBIDDEN', `EST: label '${label.name}' does not admit stations`);
    if (await deps.isRevoked(serialHex)) throw new KeylineError('CERTIFICATE_REVOKED', `certificate ${serialHex} of '${cn}' is revoked`);
    return { label, kind: 'station', actor: cn, certificate, tlsUnique };
  }
  // Another CA: a birth certificate, when the label names its issuer. The handshake proved the
  // client holds the certificate's key (CertificateVerify); here its issuer and dates.
  const cert = new X509Certificate(peer.raw);
  const now = Date.now();
  const inDate = Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
  const issuer = label.birthCas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  if (issuer && inDate) {
    const certifiedSerial = serialNamedBy(cert);
    return { label, kind: 'birth', actor: `est.${label.name}`, certificate, ...(certifiedSerial ? { certifiedSerial } : {}), tlsUnique };
  }
  // An unknown certificate with Basic credentials beside it: the credentials decide.
  if (ctx.get('Authorization')) return null;
  if (issuer) throw new KeylineError('CERTIFICATE_EXPIRED', 'EST: the birth certificate is outside its validity period');
  throw new KeylineError('CERTIFICATE_UNTRUSTED', `EST: the client certificate is not of this PKI nor of a birth CA of label '${label.name}'`);
}

async function fromBasic(ctx: Context, label: EstLabel, verified: Set<string>, cacheKey: Buffer): Promise<EstIdentity> {
  const header = ctx.get('Authorization');
  const m = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header);
  if (!m) throw new KeylineError('UNAUTHENTICATED', 'EST: a client certificate or HTTP Basic credentials are required');
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const [user, password] = colon < 0 ? [decoded, ''] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
  const basic = label.basic;
  // One answer for an unknown user and a wrong password: neither tells which was wrong.
  const refuse = () => new KeylineError('UNAUTHENTICATED', `EST: the credentials are not valid for label '${label.name}'`);
  if (!basic || user !== basic.username) throw refuse();
  const tag = createHmac('sha256', cacheKey).update(`${label.name}\0${user}\0${password}`).digest('base64');
  if (!verified.has(tag)) {
    if (!(await basic.hash.verify(password))) throw refuse();
    if (verified.size >= 1024) verified.clear();
    verified.add(tag);
  }
  return { label, kind: 'basic', actor: `est.${label.name}`, tlsUnique: tlsUniqueOf(ctx.req.socket as TLSSocket) };
}
