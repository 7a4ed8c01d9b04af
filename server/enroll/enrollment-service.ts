/**
 * The enrollment logic, free of MQTT (handler.ts is the wire): hello → fresh nonce; proof →
 * nonce, signature and counter checks, then group, signed configuration and the record; and the
 * mTLS path, where the broker already verified the device. The database side of each message is
 * one device's step (enrollment-steps.ts) in a write transaction shared with the other devices
 * being answered at the same moment (enrollment-writes.ts); any replica sharing the database can
 * answer any step. Work that needs no database runs outside the transaction: the certificate
 * check in hello (remembered per certificate, device-trust.ts) and the answer's signed
 * configuration (signed once per distinct document, its encodings kept per group).
 */
import { randomBytes } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import type { EnrolledMessage } from '../../common/protocol/enrollment.js';
import type { Store } from '../store/store.js';
import type { ConfigSigner } from './config-signer.js';
import type { DeviceTrust } from './device-trust.js';
import { createEnrollmentWrites } from './enrollment-writes.js';
import { helloStep, proofStep, verifiedStep, type Concluded, type StepDeps } from './enrollment-steps.js';
import type { GroupAssignment, GroupRule } from './group-rules.js';
import { createProofVerifier } from './proof-signature.js';

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
  /** Enrolls a device whose identity the broker verified by its client certificate. */
  enrollVerified(serial: string): Promise<EnrollResult>;
}

/** Builds the service. */
export function createEnrollmentService(d: EnrollmentServiceDeps): EnrollmentService {
  const now = d.now ?? (() => new Date());
  const steps: StepDeps = { groups: d.groups, defaultGroup: d.defaultGroup, now, verifyProof: createProofVerifier() };
  const write = createEnrollmentWrites({ store: d.store });
  const signerCertificate = Buffer.from(d.configSigner.certificateDer).toString('base64');
  // A group's document is the same object for every device: its signature (made once per
  // distinct document by the config signer) is encoded once per object too.
  const signatures = new WeakMap<object, Promise<string>>();
  let hellos = 0;

  async function answer(serial: string, outcome: KeylineError | Concluded): Promise<EnrollResult> {
    if (outcome instanceof KeylineError) throw outcome;
    const { config, group } = outcome.assignment;
    let sig = signatures.get(config);
    if (!sig) {
      sig = d.configSigner.sign(config).then((der) => Buffer.from(der).toString('base64'));
      sig.catch(() => signatures.delete(config));
      signatures.set(config, sig);
    }
    return { type: 'enrolled', serial, group, config, configSignature: await sig, configSignerCertificate: signerCertificate, reenrolled: outcome.reenrolled };
  }

  return {
    async hello(serial, certificateDer) {
      const t = now();
      const cert = d.trust.verify(certificateDer, t);
      const nonce = randomBytes(32).toString('hex');
      const expiresAt = new Date(t.getTime() + d.nonceTtlSeconds * 1000).toISOString();
      // Expired nonces are dead weight; sweep them now and then rather than on every hello.
      const purgeBefore = ++hellos % 1000 === 0 ? t.toISOString() : undefined;
      const refused = await write(helloStep({ serial, cert, nonce, expiresAt, ...(purgeBefore ? { purgeBefore } : {}) }));
      if (refused) throw refused;
      return { nonce, expiresAt };
    },

    async proof(serial, p) {
      return answer(serial, await write(proofStep(steps, serial, p)));
    },

    async enrollVerified(serial) {
      return answer(serial, await write(verifiedStep(steps, serial)));
    },
  };
}
