/**
 * The root's CRL (an ARL: the issuing CAs the root has revoked), signed offline in the root
 * token. Its number and its list carry over from one signing to the next through the ceremony
 * transcript, which records every CRL the root signed: the offline side keeps no other state.
 */
import { existsSync, readFileSync } from 'node:fs';
import { KeylineError } from '../../common/errors.js';
import type * as x509 from '../../common/x509.js';
import { parseCrl } from '../ca/crl-info.js';
import type { RevocationReason } from '../../common/protocol/revocation.js';
import type { Signer } from '../hsm/key-store.js';
import { crlIssuerOf, issueCrl } from '../ca/crl.js';
import { sha256Hex } from './ceremony-event.js';
import type { TranscriptEntry } from './transcript.js';

/** One issuing CA the root revoked, as the transcript records it. */
export interface RevokedCa {
  serialHex: string;
  reason: RevocationReason;
  revokedAt: string;
  /** The revoked CA's subject and key identifier, for people reading the transcript. */
  subject?: string;
  keyId?: string;
}

/** A root CRL's facts as recorded in a transcript entry's detail.crl. */
export interface RootCrlFacts {
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  sha256: string;
  revoked: RevokedCa[];
}

/** The last root CRL a transcript records (number 0 and no entries before the first). */
export function lastRootCrl(entries: TranscriptEntry[]): { number: number; revoked: RevokedCa[]; nextUpdate: string | null } {
  for (let i = entries.length - 1; i >= 0; i--) {
    const crl = entries[i]!.detail.crl as RootCrlFacts | undefined;
    if (crl) return { number: crl.number, revoked: crl.revoked, nextUpdate: crl.nextUpdate };
  }
  return { number: 0, revoked: [], nextUpdate: null };
}

/** Signs the root CRL numbered `number` listing `revoked`, valid `validityDays` from `now`. */
export async function signRootCrl(p: { signer: Signer; root: x509.X509Certificate; number: number; revoked: RevokedCa[]; now: Date; validityDays: number }): Promise<{ der: Buffer; facts: RootCrlFacts }> {
  // Whole seconds: the Time types carry no fraction (RFC 5280 §5.1.2.4).
  const thisUpdate = new Date(Math.floor(p.now.getTime() / 1000) * 1000);
  const nextUpdate = new Date(thisUpdate.getTime() + p.validityDays * 86_400_000);
  const der = await issueCrl(crlIssuerOf(new Uint8Array(p.root.rawData), p.signer), {
    number: p.number, thisUpdate, nextUpdate,
    entries: p.revoked.map((r) => ({ serialHex: r.serialHex, revokedAt: new Date(r.revokedAt), reason: r.reason })),
  });
  return { der, facts: { number: p.number, thisUpdate: thisUpdate.toISOString(), nextUpdate: nextUpdate.toISOString(), sha256: sha256Hex(der), revoked: p.revoked } };
}

/**
 * The state a root CRL file carries (its number and entries), checked against the root: for a
 * PKI without a transcript. Number 0 and no entries when there is no file.
 */
export function rootCrlFileState(path: string, root: x509.X509Certificate): { number: number; revoked: RevokedCa[]; nextUpdate: string | null } {
  if (!existsSync(path)) return { number: 0, revoked: [], nextUpdate: null };
  const crl = parseCrl(readFileSync(path));
  if (!crl.signedBy(new Uint8Array(root.publicKey.rawData)) || crl.number === null) {
    throw new KeylineError('CRL_INVALID', `${path}: not a CRL the root '${root.subject}' signed with a CRL Number`);
  }
  return {
    number: crl.number, nextUpdate: crl.nextUpdate?.toISOString() ?? null,
    revoked: crl.entries().map((e) => ({ serialHex: e.serialHex, reason: e.reason, revokedAt: e.revokedAt.toISOString() })),
  };
}
