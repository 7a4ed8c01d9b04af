/**
 * The CA lifetime report shared by `/health`, `/metrics`, the server's log and `keyline ca
 * status`: every CA certificate (the root and each issuing CA) with its validity, days left, key
 * id, whether it issues, whether the root revoked it, and the warning threshold it has crossed;
 * and the root CRL's next update. Pure: the same facts give the same report everywhere.
 */
import type * as x509 from '../../common/x509.js';
import type { RevocationReason } from '../../common/protocol/revocation.js';

/** One CA certificate in the report. */
export interface CaReport {
  role: 'root' | 'issuing';
  keyId: string;
  subject: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  /** This CA issues now (issuing CAs only). */
  active: boolean;
  /** Listed in the newest root CRL the server holds. */
  revoked: { reason: RevocationReason; revokedAt: string } | null;
  /** The smallest configured threshold (days) the remaining lifetime is under, or null. */
  warningDays: number | null;
}

/** The root CRL in the report. */
export interface RootCrlReport {
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  daysLeft: number;
  /** True within rootCrlWarningDays of nextUpdate (re-sign it: keyline ceremony crl). */
  warning: boolean;
}

/** One warning of the report. */
export interface CaWarning {
  /** Stable while the condition lasts, e.g. `lifetime:<keyId>:90`, `root-crl:<number>`. */
  key: string;
  message: string;
}

/** The whole report. */
export interface CaStatusReport {
  cas: CaReport[];
  rootCrl: RootCrlReport | null;
  /** A switch recorded for later (keyline ca activate --at). */
  pending: { keyId: string; activateAt: string } | null;
  /** Everything that needs attention: a stable key (logged once per key) and a readable line. */
  warnings: CaWarning[];
  /** False when nothing may issue: the active CA is revoked, expired or not loaded. */
  ok: boolean;
}

/** What the report is made from. */
export interface CaStatusInput {
  root: x509.X509Certificate;
  rootKeyId: string;
  issuing: Array<{ keyId: string; cert: x509.X509Certificate }>;
  activeKeyId: string;
  /** The active CA is in `issuing` (a process that could not load it issues nothing). */
  activeLoaded?: boolean;
  revoked: (serialHex: string) => { reason: RevocationReason; revokedAt: string } | null;
  rootCrl: { number: number; thisUpdate: Date; nextUpdate: Date | null } | null;
  pending: { keyId: string; activateAt: string } | null;
  thresholdsDays: readonly number[];
  rootCrlWarningDays: number;
  now: Date;
}

const DAY = 86_400_000;
const days = (ms: number) => Math.floor((ms / DAY) * 10) / 10;
const serialHexOf = (c: x509.X509Certificate) => c.serialNumber.toLowerCase().replace(/^0+(?=.)/, '');

/** Builds the report. */
export function caStatus(i: CaStatusInput): CaStatusReport {
  const warnings: CaWarning[] = [];
  const warn = (key: string, message: string) => warnings.push({ key, message });
  const thresholds = [...i.thresholdsDays].sort((a, b) => a - b);
  const report = (role: CaReport['role'], keyId: string, c: x509.X509Certificate, active: boolean): CaReport => {
    const left = days(c.notAfter.getTime() - i.now.getTime());
    const warningDays = thresholds.find((d) => left < d) ?? null;
    const revoked = role === 'issuing' ? i.revoked(serialHexOf(c)) : null;
    if (warningDays !== null) warn(`lifetime:${keyId}:${warningDays}`, `${role} CA ${keyId} (${c.subject}) expires ${c.notAfter.toISOString()}: ${left} days left, under ${warningDays}`);
    if (revoked) warn(`revoked:${keyId}`, `issuing CA ${keyId} (serial ${c.serialNumber}) is revoked by the root (${revoked.reason}, ${revoked.revokedAt})${active ? ': issuance refused' : ''}`);
    return { role, keyId, subject: c.subject, serial: c.serialNumber, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), daysLeft: left, active, revoked, warningDays };
  };
  const cas = [report('root', i.rootKeyId, i.root, false), ...i.issuing.map((x) => report('issuing', x.keyId, x.cert, x.keyId === i.activeKeyId))];
  let rootCrl: RootCrlReport | null = null;
  if (i.rootCrl) {
    const next = i.rootCrl.nextUpdate;
    const left = next ? days(next.getTime() - i.now.getTime()) : Infinity;
    rootCrl = { number: i.rootCrl.number, thisUpdate: i.rootCrl.thisUpdate.toISOString(), nextUpdate: next?.toISOString() ?? '', daysLeft: left, warning: left < i.rootCrlWarningDays };
    if (rootCrl.warning) warn(`root-crl:${i.rootCrl.number}`, `root CRL ${i.rootCrl.number} reaches its next update ${rootCrl.nextUpdate} in ${left} days: re-sign it (keyline ceremony crl) and import it (keyline ca import-crl)`);
  } else {
    warn('root-crl:none', 'no root CRL imported: relying parties checking issuing CAs (openssl -crl_check_all) will fail (keyline ca import-crl)');
  }
  const active = cas.find((c) => c.role === 'issuing' && c.active);
  const expired = active !== undefined && active.daysLeft <= 0;
  if (i.activeLoaded === false || !active) warn(`not-loaded:${i.activeKeyId}`, `the active issuing CA ${i.activeKeyId} is not loaded by this process (is it in ca.issuing of keyline.json?)`);
  if (expired) warn(`expired:${i.activeKeyId}`, `the active issuing CA ${i.activeKeyId} has expired`);
  return { cas, rootCrl, pending: i.pending, warnings, ok: !!active && i.activeLoaded !== false && !active.revoked && !expired };
}
