/**
 * Verifies SE050 key-origin evidence (Se050AttestationEvidence) against trusted manufacturer
 * roots, with node:crypto only: the attestation certificate chains to a root (RFC 5280 §6.1:
 * signature, issuer name, validity), the attested read's signature verifies with its key over
 * the applet's signed data (common/se05x/attestation-format.ts), the freshness is the one asked
 * for, the object is the one named, and the attributes say the key was generated inside the chip
 * (origin 02) with a policy that lets nothing export it. Any failure is ATTESTATION_INVALID with
 * the reason; what passes is returned for the record.
 */
import { createPublicKey, verify as verifySignature, X509Certificate } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { ANY_SESSION, Ar, Origin, Tag } from '../../common/se05x/applet-constants.js';
import { attestedSignedData, parseAttestedRead, parseAttributes, type ObjectAttributes } from '../../common/se05x/attestation-format.js';
import { parseCommandApdu } from '../../common/se05x/apdu.js';
import { beNumber, findTlv, parseTlvs } from '../../common/se05x/tlv.js';
import type { Se050AttestationEvidence } from '../secure-element.js';

/** What verified evidence establishes. */
export interface VerifiedKeyOrigin {
  /** The chip's 18-byte unique id, as the attestation signed it. */
  uid: Uint8Array;
  /** The attested public key X‖Y. */
  publicKey: Uint8Array;
  attributes: ObjectAttributes;
  timestamp: Uint8Array;
  /** Subject of the attestation certificate and of the root it chains to. */
  attestationSubject: string;
  rootSubject: string;
}

const fail = (reason: string): never => {
  throw new KeylineError('ATTESTATION_INVALID', `SE050 attestation: ${reason}`, { detail: { reason } });
};

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Verifies `e` against `roots` (DER); the facts on success, ATTESTATION_INVALID otherwise. */
export function verifySe05xAttestation(e: Se050AttestationEvidence, opts: { roots: readonly Uint8Array[]; now?: Date; expectFreshness?: Uint8Array }): VerifiedKeyOrigin {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(e.attestationCertificate));
  } catch {
    return fail('the attestation certificate is not X.509 DER');
  }
  const now = (opts.now ?? new Date()).getTime();
  const root = opts.roots.map((r) => new X509Certificate(Buffer.from(r))).find((r) => cert.checkIssued(r) && cert.verify(r.publicKey));
  if (!root) return fail(`attestation certificate ${JSON.stringify(cert.subject)} is not issued by a trusted manufacturer root`);
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) fail(`attestation certificate is valid ${cert.validFrom} to ${cert.validTo}`);

  const read = parseAttestedRead(e.response, e.applet);
  if (!read) return fail(`response is not an attested read in the ${e.applet} layout`);
  const cmd = parseCommandApdu(e.command.length > 0 ? withLe(e.command) : e.command);
  const body = cmd.ok ? parseTlvs(cmd.apdu.data) : null;
  if (!cmd.ok || !body || cmd.apdu.ins !== 0x22) return fail('the command is not an attested ReadObject');
  const askedId = findTlv(body, Tag.T1);
  const askedFreshness = findTlv(body, Tag.T7);
  if (!askedId || beNumber(askedId) >>> 0 !== e.objectId) fail('the command names another object');
  if (!askedFreshness || !same(askedFreshness, e.freshness)) fail('the command carries other freshness than the evidence');
  if (opts.expectFreshness && !same(e.freshness, opts.expectFreshness)) fail('freshness is not the one the verifier chose');
  if (read.freshness && !same(read.freshness, e.freshness)) fail('the chip echoed other freshness');

  const signed = attestedSignedData(read, e.command);
  let good = false;
  try {
    good = verifySignature('sha256', signed, createPublicKey(cert.publicKey.export({ format: 'pem', type: 'spki' })), read.signature);
  } catch {
    good = false;
  }
  if (!good) fail('signature does not verify with the attestation certificate key');

  const attributes = parseAttributes(read.attributes, e.applet);
  if (!attributes) return fail('attributes do not have the applet layout');
  if (attributes.id >>> 0 !== e.objectId) fail(`attributes name object ${attributes.id.toString(16)}`);
  if (attributes.origin !== Origin.INTERNAL) fail(`key origin ${attributes.origin} is not "generated inside the chip" (02)`);
  const rule = attributes.policy.find((p) => p.authId === ANY_SESSION);
  if (attributes.policy.some((p) => (p.ar & Ar.IMPORT_EXPORT) !== 0) || (rule && (rule.ar & (Ar.WRITE | Ar.GEN)) !== 0)) {
    fail('key policy allows export or replacement');
  }
  if (read.data.length !== 65 || read.data[0] !== 0x04) fail('attested data is not an uncompressed P-256 point');
  return { uid: read.chipId.slice(), publicKey: read.data.slice(1), attributes, timestamp: read.timestamp.slice(), attestationSubject: cert.subject, rootSubject: root.subject };
}

/** The command with its extended Le put back, so the ISO parser reads it as sent. */
function withLe(command: Uint8Array): Uint8Array {
  const out = new Uint8Array(command.length + 2);
  out.set(command, 0);
  return out;
}
