/**
 * The enrollment logic, free of MQTT (handler.ts is the wire): hello → fresh nonce; proof →
 * nonce, signature and counter checks, then group, signed configuration and the record; and the
 * mTLS path, where the broker already verified the device. The database side of each message is
 * one device's step (enrollment-steps.ts) in a write transaction shared with the other devices
 * being answered at the same moment (enrollment-writes.ts), or, for an mTLS enrollment that must
 * commit with other writes, in the caller's own (verifiedEnrollment); any replica sharing the
 * database can answer any step. Work that needs no database runs outside the transaction: the
 * certificate check in hello (remembered per certificate, device-trust.ts; a unit's own recorded
 * certificate needs no signature check) and the answer's signed configuration (signed once per
 * distinct document, its encodings kept per group).
 */
import { randomBytes } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { enrollmentSignedBytes, type EnrolledMessage } from '../../common/protocol/enrollment.js';
import type { Store, Tx } from '../store/store.js';
import { BoundedCache } from './bounded-cache.js';
import type { ConfigSigner } from './config-signer.js';
import type { DeviceTrust } from './device-trust.js';
import { createEnrollmentWrites } from './enrollment-writes.js';
import { assignmentOf, FULL_CHECK, helloStep, proofStep, verifiedStep, type Concluded, type ShownCertificate, type StepDeps } from './enrollment-steps.js';
import type { GroupAssignment, GroupRule } from './group-rules.js';
import { createProofVerifier, type ProofCheck } from './proof-signature.js';
import type { ShownKey } from './unit-standing.js';

/** What the service needs. */
export interface EnrollmentServiceDeps {
  store: Store;
  trust: DeviceTrust;
  configSigner: ConfigSigner;
  groups: readonly GroupRule[];
  defaultGroup: GroupAssignment;
  nonceTtlSeconds: number;
  now?: () => Date;
}

/** The outcome of an enrollment, as sent to the device (without correlation). */
export type EnrollResult = Omit<EnrolledMessage, 'correlationId'>;

/** The enrollment operations. */
export interface EnrollmentService {
  /** Checks the certificate and the unit, stores and returns a single-use nonce. */
  hello(serial: string, certificateDer: Uint8Array): Promise<{ nonce: string; expiresAt: string }>;
  /** Checks a proof (nonce, chip signature, counter) and enrolls or re-authenticates. */
  proof(serial: string, p: { nonce: string; counter: number; signature: string }): Promise<EnrollResult>;
  /**
   * Enrolls a device whose identity the broker verified by its client certificate. `shown`: that
   * certificate's key and serial when the caller saw it (DPS); checked in the enrollment's own
   * transaction (KEY_MISMATCH, DEVICE_REVOKED), so a unit re-keyed or a certificate revoked after
   * any earlier read cannot slip in between.
   */
  enrollVerified(serial: string, shown?: ShownKey): Promise<EnrollResult>;
  /**
   * enrollVerified as a part of the caller's own write transaction, for writes that must commit
   * with the enrollment or undo it (AWS Fleet's RegisterThing with the certificate it activates).
   * Resolved before that transaction opens: routing to a CA's service may read the store, and a
   * second write transaction opened from inside one never begins on SQLite. The function records
   * the enrollment and its audit in `tx` and answers; a refusal is thrown, so that the caller's
   * transaction rolls back.
   */
  verifiedEnrollment(serial: string): Promise<(tx: Tx) => Promise<EnrollResult>>;
}

/** Builds the service. */
export function createEnrollmentService(d: EnrollmentServiceDeps): EnrollmentService {
  const now = d.now ?? (() => new Date());
  const steps: StepDeps = { groups: d.groups, defaultGroup: d.defaultGroup, now, verifyProof: createProofVerifier(), products: new BoundedCache(10_000) };
  const write = createEnrollmentWrites({ store: d.store });
  const signerCertificate = Buffer.from(d.configSigner.certificateDer).toString('base64');
  // A group's document is the same object for every device: its signature (made once per
  // distinct document by the config signer) is encoded once per object too.
  const signatures = new WeakMap<object, Promise<string>>();
  let hellos = 0;
  // What each nonce this service stored was bound to, so that its proof's signature can be
  // verified on the thread pool before the transaction (proof-signature.ts). Bounded: a nonce
  // forgotten here (evicted, or stored by another replica) is verified in the transaction.
  const issued = new BoundedCache<string, { serial: string; certFingerprint: string; publicKey: Uint8Array }>(20_000);

  /** The proof's signature verified ahead, when this service stored its nonce for this serial. */
  async function verifyAhead(serial: string, p: { nonce: string; counter: number; signature: string }): Promise<ProofCheck | undefined> {
    const bound = issued.get(p.nonce);
    if (!bound || bound.serial !== serial) return undefined;
    issued.delete(p.nonce);
    let signed: Uint8Array;
    try {
      signed = enrollmentSignedBytes({ nonce: Buffer.from(p.nonce, 'hex'), counter: p.counter, serial: Buffer.from(serial, 'hex'), certFingerprint: Buffer.from(bound.certFingerprint, 'hex') });
    } catch {
      return undefined; // the transaction meets the same input and fails as it always did
    }
    return steps.verifyProof.ahead(bound.publicKey, signed, p.signature);
  }

  function signatureOf(config: GroupAssignment['config']): Promise<string> {
    let sig = signatures.get(config);
    if (!sig) {
      sig = d.configSigner.sign(config).then((der) => Buffer.from(der).toString('base64'));
      sig.catch(() => signatures.delete(config));
      signatures.set(config, sig);
    }
    return sig;
  }

  async function answer(serial: string, outcome: KeylineError | Concluded): Promise<EnrollResult> {
    if (outcome instanceof KeylineError) throw outcome;
    const { config, group } = outcome.assignment;
    return { type: 'enrolled', serial, group, config, configSignature: await signatureOf(config), configSignerCertificate: signerCertificate, reenrolled: outcome.reenrolled };
  }

  return {
    async hello(serial, certificateDer) {
      const t = now();
      const nonce = randomBytes(32).toString('hex');
      const expiresAt = new Date(t.getTime() + d.nonceTtlSeconds * 1000).toISOString();
      // Expired nonces are dead weight; sweep them now and then rather than on every hello.
      const purgeBefore = ++hellos % 1000 === 0 ? t.toISOString() : undefined;
      const step = (shown: ShownCertificate) => helloStep({ serial, shown, nonce, expiresAt, ...(purgeBefore ? { purgeBefore } : {}) });
      // A certificate seen before is known; one not seen yet is most often the unit's recorded
      // certificate, trusted as such inside the step (no ECDSA verification: the first hello's
      // largest cost after the key import); anything else is checked in full, outside the
      // transaction, and the step goes again.
      const { fingerprint, cert } = d.trust.remembered(certificateDer, t);
      let stored = await write(step(cert ?? { fingerprint, asRecorded: () => d.trust.recorded(certificateDer, fingerprint, t) }));
      if (stored === FULL_CHECK) stored = await write(step(d.trust.verify(certificateDer, t)));
      if (stored === FULL_CHECK || stored instanceof KeylineError) throw stored;
      issued.set(nonce, { serial, certFingerprint: stored.fingerprint, publicKey: stored.publicKey });
      return { nonce, expiresAt };
    },

    async proof(serial, p) {
      // The proof takes its place in line now (two proofs naming one nonce: the first one spends
      // it); its transaction begins once the verification is done.
      return answer(serial, await write(proofStep(steps, serial, p, verifyAhead(serial, p))));
    },

    async enrollVerified(serial, shown) {
      return answer(serial, await write(verifiedStep(steps, serial, shown)));
    },

    async verifiedEnrollment(serial) {
      // The group's configuration is signed now, before the caller's write transaction opens, so
      // the signer (an HSM) is not waited for while the write lock is held. The answer is still
      // made inside that transaction, from the group decided there (signed there only if the
      // unit's group moved in between): a signature that fails must not leave the enrollment
      // recorded.
      // Once every group's document is signed there is nothing to read for it.
      if (!signatures.has(d.defaultGroup.config) || !d.groups.every((g) => signatures.has(g.config))) {
        const assignment = await d.store.transaction(async (tx) => {
          const unit = await tx.units.getBySerial(serial);
          return unit ? assignmentOf(steps, tx, unit) : null;
        }, { readOnly: true });
        if (assignment) await signatureOf(assignment.config);
      }
      return async (tx) => answer(serial, await verifiedStep(steps, serial).run(tx));
    },
  };
}
