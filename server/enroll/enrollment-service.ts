/**
 * The enrollment logic, free of MQTT (handler.ts is the wire): hello → fresh nonce; proof →
 * nonce, signature and counter checks, then group, signed configuration and the record; and the
 * mTLS path, where the broker already verified the device. Each step is one store transaction,
 * so any replica sharing the database can answer any step.
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { certificateFingerprint, enrollmentSignedBytes, type EnrolledMessage } from '../../common/protocol/enrollment.js';
import type { Store, Tx, UnitRecord } from '../store/store.js';
import type { ConfigSigner } from './config-signer.js';
import type { DeviceTrust } from './device-trust.js';
import { assignGroup, type GroupAssignment, type GroupRule } from './group-rules.js';
import { checkUnitStanding } from './unit-standing.js';

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

const AUDIT_ACTOR = 'enroll';
const SERIAL_BYTES = (serial: string) => Buffer.from(serial, 'hex');

/** Builds the service. */
export function createEnrollmentService(d: EnrollmentServiceDeps): EnrollmentService {
  const now = d.now ?? (() => new Date());
  let hellos = 0;

  // Group, record and audit: shared by the challenge and mTLS paths, inside their transaction.
  async function conclude(tx: Tx, unit: UnitRecord, method: 'challenge' | 'mtls', counter: number | null): Promise<{ assignment: GroupAssignment; reenrolled: boolean }> {
    const wo = await tx.workOrders.get(unit.workOrder);
    const assignment = assignGroup(d.groups, d.defaultGroup, { product: wo?.product ?? '', workOrder: unit.workOrder });
    const at = now().toISOString();
    const previous = await tx.enrollment.get(unit.serial);
    if (!previous) await tx.enrollment.insert({ serial: unit.serial, counter, group: assignment.group, method, at });
    await tx.audit.append({
      action: previous ? 'device.reauthenticated' : 'device.enrolled', actor: AUDIT_ACTOR, subject: unit.serial,
      detail: { method, group: assignment.group, ...(counter === null ? {} : { counter }) },
    });
    return { assignment, reenrolled: previous !== null };
  }

  async function answer(serial: string, r: { assignment: GroupAssignment; reenrolled: boolean }): Promise<EnrollResult> {
    const sig = await d.configSigner.sign(r.assignment.config);
    return {
      type: 'enrolled', serial, group: r.assignment.group, config: r.assignment.config,
      configSignature: Buffer.from(sig).toString('base64'),
      configSignerCertificate: Buffer.from(d.configSigner.certificateDer).toString('base64'),
      reenrolled: r.reenrolled,
    };
  }

  return {
    async hello(serial, certificateDer) {
      const t = now();
      const cert = d.trust.verify(certificateDer, t);
      const nonce = randomBytes(32).toString('hex');
      const expiresAt = new Date(t.getTime() + d.nonceTtlSeconds * 1000).toISOString();
      const purge = ++hellos % 1000 === 0;
      await d.store.transaction(async (tx) => {
        await checkUnitStanding(tx, serial, cert);
        await tx.enrollment.addNonce({ nonce, serial, certFingerprint: Buffer.from(certificateFingerprint(certificateDer)).toString('hex'), expiresAt });
        // Expired nonces are dead weight; sweep them now and then rather than on every hello.
        if (purge) await tx.enrollment.purgeNonces(t.toISOString());
      });
      return { nonce, expiresAt };
    },

    async proof(serial, p) {
      // Refusals are returned, not thrown, from the transaction: a throw would roll back the
      // nonce's "used" mark, and a nonce must be spent by any attempt that named it.
      const outcome = await d.store.transaction(async (tx): Promise<KeylineError | { assignment: GroupAssignment; reenrolled: boolean }> => {
        const n = await tx.enrollment.useNonce(p.nonce);
        const t = now();
        if (!n || n.used || n.serial !== serial || new Date(n.expiresAt) <= t) {
          const why = !n ? 'unknown' : n.used ? 'already used' : n.serial !== serial ? 'issued to another device' : 'expired';
          return new KeylineError('NONCE_INVALID', `nonce: ${why}`);
        }
        let unit: UnitRecord;
        try {
          unit = await checkUnitStanding(tx, serial);
        } catch (err) {
          if (err instanceof KeylineError) return err;
          throw err;
        }
        const signed = enrollmentSignedBytes({ nonce: Buffer.from(p.nonce, 'hex'), counter: p.counter, serial: SERIAL_BYTES(serial), certFingerprint: Buffer.from(n.certFingerprint, 'hex') });
        // A bad signature or a replayed counter on a valid nonce is what a clone or a tampered
        // host looks like: recorded in the audit log, not only in the process log.
        const refuse = async (e: KeylineError) => {
          await tx.audit.append({ action: 'device.enroll-refused', actor: AUDIT_ACTOR, subject: serial, detail: { code: e.code, counter: p.counter } });
          return e;
        };
        if (!signatureValid(unit.publicKey, signed, p.signature)) return refuse(new KeylineError('SIGNATURE_INVALID', `signature: does not verify with the key of unit ${serial}`));
        const last = await tx.enrollment.lastCounter(serial);
        if (last !== null && p.counter <= last) return refuse(new KeylineError('REPLAYED', `counter: ${p.counter} is not greater than the last seen ${last}`));
        await tx.enrollment.setLastCounter(serial, p.counter, t.toISOString());
        return conclude(tx, unit, 'challenge', p.counter);
      });
      if (outcome instanceof KeylineError) throw outcome;
      return answer(serial, outcome);
    },

    async enrollVerified(serial) {
      const r = await d.store.transaction(async (tx) => conclude(tx, await checkUnitStanding(tx, serial), 'mtls', null));
      return answer(serial, r);
    },
  };
}

/** ECDSA P-256/SHA-256 of `signed` with the raw X‖Y key; signature as 128 hex digits r‖s. */
function signatureValid(publicKey: Uint8Array, signed: Uint8Array, signatureHex: string): boolean {
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(publicKey.subarray(0, 32)).toString('base64url'), y: Buffer.from(publicKey.subarray(32)).toString('base64url') }, format: 'jwk' });
  return verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureHex, 'hex'));
}
