/**
 * What a unit's key-origin evidence establishes (issue 15), decided once per issue request before
 * the issuance rules run (policies.ts checkKeyOrigin reads the verdict) and recorded with the unit.
 *
 * - SE050: an attested ReadObject of the device key, signed inside the chip by its NXP attestation
 *   key, whose certificate must chain to a configured manufacturer root (`ca.manufacturerRoots`;
 *   in development the dev ceremony's). `verified` means: the key is a P-256 key object of the
 *   chip with this unique id, generated inside it (origin 02) under a policy that lets nothing
 *   export or replace it, read fresh for this very request (common/protocol/key-origin.ts).
 * - ATECC608: a report of its config zone. No manufacturer key signs it, so it proves nothing to
 *   the server: it is recorded as `unattested`, with what the station saw (serial, locks, the key
 *   slot's policy) checked for consistency; a report that contradicts the request is `invalid`.
 * Anything else is `invalid` with the reason, never an exception: whether an invalid or absent
 * proof refuses the unit is the work order's choice (requireAttestation).
 */
import { X509Certificate } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { attestationFreshness, type KeyOriginEvidence } from '../../common/protocol/key-origin.js';
import { checkProvisioningConfig } from '../../secure-element/provisioning-config.js';
import { verifySe05xAttestation } from '../../secure-element/se05x/attestation-verify.js';
import type { UnitAttestationRecord } from '../store/store.js';

/** The verdict on one unit's evidence, as recorded (the store's record without serial and time). */
export type KeyOrigin = Omit<UnitAttestationRecord, 'serial' | 'recordedAt'>;

/** The request the evidence came with, after its key was parsed. */
export interface KeyOriginRequest {
  serial: string;
  /** Raw P-256 X‖Y. */
  publicKey: Uint8Array;
  workOrder: string;
  idempotencyKey: string | null;
}

const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Verifies key-origin evidence against trusted manufacturer roots (DER); `now` for certificate validity. */
export function createKeyOriginVerifier(opts: { roots: readonly Uint8Array[]; now?: () => Date }): (req: KeyOriginRequest, e: KeyOriginEvidence) => KeyOrigin {
  // Parsed once: a root that is not X.509 is a configuration error, found at start-up.
  for (const r of opts.roots) new X509Certificate(Buffer.from(r));
  return (req, e) => (e.format === 'se05x-attested-read' ? se050(req, e, opts.roots, opts.now?.() ?? new Date()) : atecc608(req, e));
}

function se050(req: KeyOriginRequest, e: Extract<KeyOriginEvidence, { format: 'se05x-attested-read' }>, roots: readonly Uint8Array[], now: Date): KeyOrigin {
  const base = { chip: 'se050' as const, format: e.format, evidence: { ...e } };
  const invalid = (reason: string): KeyOrigin => ({ ...base, status: 'invalid', reason, facts: null });
  if (roots.length === 0) return invalid('no SE050 manufacturer root is configured (ca.manufacturerRoots): the attestation cannot be checked');
  let v;
  try {
    v = verifySe05xAttestation(
      { chip: 'se050', format: e.format, applet: e.applet, objectId: e.objectId, freshness: fromHex(e.freshness), command: fromHex(e.command), response: fromHex(e.response), attestationCertificate: fromHex(e.attestationCertificate) },
      { roots, now, expectFreshness: attestationFreshness(req) },
    );
  } catch (err) {
    if (err instanceof KeylineError && err.code === 'ATTESTATION_INVALID') return invalid(err.message);
    throw err;
  }
  // The chip vouched for a key and for itself: both must be this request's.
  if (hex(v.uid).toUpperCase() !== req.serial) return invalid(`the attestation names chip ${hex(v.uid).toUpperCase()}, not ${req.serial}`);
  if (hex(v.publicKey) !== hex(req.publicKey)) return invalid('the attested key is not the publicKey of the request');
  return {
    ...base, status: 'verified', reason: null,
    facts: {
      uid: hex(v.uid).toUpperCase(), objectId: v.attributes.id >>> 0, origin: v.attributes.origin, policy: v.attributes.policy.map((p) => ({ authId: p.authId >>> 0, ar: p.ar >>> 0 })),
      timestamp: hex(v.timestamp), attestationSubject: v.attestationSubject, rootSubject: v.rootSubject,
    },
  };
}

function atecc608(req: KeyOriginRequest, e: Extract<KeyOriginEvidence, { format: 'atecc608-unattested' }>): KeyOrigin {
  const base = { chip: 'atecc608' as const, format: e.format, evidence: { ...e } };
  const c = fromHex(e.configZone);
  // Config bytes 0-3 and 8-12 are the serial (datasheet §2.2); 86-87 LockValue/LockConfig (0x55 = unlocked).
  const serial = hex(Uint8Array.of(...c.subarray(0, 4), ...c.subarray(8, 13))).toUpperCase();
  const configLocked = c[87] !== 0x55;
  const dataLocked = c[86] !== 0x55;
  const policy = Uint8Array.from(c);
  policy.set([0x55, 0x55, 0xff, 0xff], 86);
  const problems = checkProvisioningConfig(policy);
  if (serial !== req.serial) problems.unshift(`the config zone is chip ${serial}'s, not ${req.serial}'s`);
  if (!configLocked || !dataLocked) problems.push('the config and data zones are not both locked');
  if (problems.length > 0) return { ...base, status: 'invalid', reason: `ATECC608 report: ${problems.join('; ')}`, facts: null };
  return {
    ...base, status: 'unattested',
    reason: 'an ATECC608 carries no manufacturer attestation key: this is what the station read from the chip, not a proof',
    facts: { serial, configLocked, dataLocked, keySlot: 0, keyPolicy: 'private P-256 key made by GenKey, never readable, no PrivWrite (the station\'s reading)' },
  };
}
