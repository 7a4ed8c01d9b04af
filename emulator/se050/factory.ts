/**
 * New parts as they leave NXP's factory (reference/se050.md §6-§7): a unique 18-byte id in
 * binary object 7FFF0206, an ECC attestation key in F0000012 (P-256, generated inside, policy:
 * attest and read its public key, never delete) and its certificate in F0000013, issued by the
 * installation's manufacturer root; no curve created yet (the host creates P-256 before first use).
 */
import { randomBytes } from 'node:crypto';
import { Ar, ObjectId, Origin, Curve, type AppletVersionName } from '../../common/se05x/applet-constants.js';
import { anySessionPolicy } from '../../common/se05x/policy.js';
import type { ManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import { keyFromScalar, randomScalar, toBytes } from '../atecc608/ecc.js';
import { issueAttestationCertificate } from './attestation-cert.js';
import { Se050Chip, type Se050ChipOptions } from './chip.js';
import { Se050State } from './state.js';

/** Options for a new part. */
export interface NewSe050Options extends Se050ChipOptions {
  applet?: AppletVersionName;
  /** The manufacturer root that certifies the attestation key. */
  root: ManufacturerRoot;
  /** A fixed unique id (18 bytes); by default `04 00 50 01` then 14 random bytes. */
  uid?: Uint8Array;
  now?: () => number;
}

/** A fresh unique id: 04 00 50 01 ‖ 14 random bytes (a fixed prefix, as a product line's ids share one). */
export function newUid(): Uint8Array {
  const uid = new Uint8Array(18);
  uid.set([0x04, 0x00, 0x50, 0x01], 0);
  uid.set(randomBytes(14), 4);
  return uid;
}

/** Creates a part: state with the NXP-provisioned objects, attestation certificate issued by `root`. */
export async function createSe050Chip(opts: NewSe050Options): Promise<Se050Chip> {
  const uid = opts.uid ?? newUid();
  if (uid.length !== 18) throw new RangeError(`SE050 unique id must be 18 bytes, got ${uid.length}`);
  const state = new Se050State(opts.applet ?? '3.1', uid);
  const key = keyFromScalar(randomScalar());
  const point = Uint8Array.of(0x04, ...key.publicKey);
  const cert = await issueAttestationCertificate(opts.root, point, uid, new Date((opts.now ?? Date.now)()));
  const readOnly = anySessionPolicy(Ar.READ);
  state.objects.set(ObjectId.UNIQUE_ID, { id: ObjectId.UNIQUE_ID, kind: 'binary', data: uid.slice(), policy: readOnly, origin: Origin.PROVISIONED, transient: false });
  state.objects.set(ObjectId.ATTESTATION_KEY, {
    id: ObjectId.ATTESTATION_KEY, kind: 'ec', part: 'pair', curve: Curve.NIST_P256, d: toBytes(key.d), pub: point,
    policy: anySessionPolicy(Ar.ATTESTATION | Ar.READ), origin: Origin.PROVISIONED, transient: false,
  });
  state.objects.set(ObjectId.ATTESTATION_CERT, { id: ObjectId.ATTESTATION_CERT, kind: 'binary', data: cert, policy: readOnly, origin: Origin.PROVISIONED, transient: false });
  return new Se050Chip(state, opts);
}
