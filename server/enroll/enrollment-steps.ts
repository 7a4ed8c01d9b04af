/**
 * The database side of each enrollment message, as one device's step in a grouped write
 * transaction (enrollment-writes.ts): hello stores a nonce for a unit in good standing; proof
 * spends the nonce, then checks standing, signature and counter, and concludes; the mTLS path
 * concludes directly. Concluding assigns the group and writes the first enrollment record and
 * the audit record.
 *
 * Refusals are returned, not thrown: a throw rolls back the transaction, which would undo the
 * nonce's "used" mark (a nonce must be spent by any attempt that named it) and the writes of
 * every other device in the group.
 */
import { KeylineError } from '../../common/errors.js';
import { enrollmentSignedBytes } from '../../common/protocol/enrollment.js';
import type { NonceRecord, Tx, UnitRecord } from '../store/store.js';
import type { BoundedCache } from './bounded-cache.js';
import type { TrustedDeviceCert } from './device-trust.js';
import type { WriteStep } from './enrollment-writes.js';
import { assignGroup, type GroupAssignment, type GroupRule } from './group-rules.js';
import type { ProofCheck, ProofVerifier } from './proof-signature.js';
import { unitStanding, type ShownKey } from './unit-standing.js';

/** What the steps need from the service. */
export interface StepDeps {
  groups: readonly GroupRule[];
  defaultGroup: GroupAssignment;
  now: () => Date;
  verifyProof: ProofVerifier;
  /** Work order → product, kept: an order's product never changes (WorkOrderRepo.update takes quota and stations only). */
  products: BoundedCache<string, string>;
}

/** A concluded enrollment: the device's group and whether it had enrolled before. */
export interface Concluded {
  assignment: GroupAssignment;
  reenrolled: boolean;
}

const AUDIT_ACTOR = 'enroll';

/**
 * The certificate a hello showed: its checked facts, or for one not seen before, its fingerprint
 * and how to take it as the unit's recorded certificate (DeviceTrust.recorded).
 */
export type ShownCertificate = TrustedDeviceCert | { fingerprint: string; asRecorded: () => TrustedDeviceCert | null };

/** A hello step's answer when the certificate is not the unit's recorded one: check it in full, then go again. */
export const FULL_CHECK = Symbol('full certificate check needed');

/**
 * Hello: the unit may enroll with the certificate shown; its nonce is stored (and old ones swept
 * when asked). Success answers the certificate the nonce was bound to.
 */
export function helloStep(h: { serial: string; shown: ShownCertificate; nonce: string; expiresAt: string; purgeBefore?: string }): WriteStep<KeylineError | typeof FULL_CHECK | TrustedDeviceCert> {
  return {
    async run(tx) {
      let cert: TrustedDeviceCert;
      let read: UnitRecord | null | undefined;
      if ('asRecorded' in h.shown) {
        // The certificate this PKI recorded for the unit at issuance needs no chain check here.
        read = await tx.units.getBySerial(h.serial);
        let recorded: TrustedDeviceCert | null = null;
        try {
          recorded = read?.fingerprintSha256 === h.shown.fingerprint ? h.shown.asRecorded() : null;
        } catch (err) {
          if (err instanceof KeylineError && err.code === 'CERTIFICATE_UNTRUSTED') return err;
          throw err;
        }
        if (!recorded) return FULL_CHECK;
        cert = recorded;
      } else {
        cert = h.shown;
      }
      const unit = await unitStanding(tx, h.serial, cert, read);
      if (unit instanceof KeylineError) return unit;
      await tx.enrollment.addNonce({ nonce: h.nonce, serial: h.serial, certFingerprint: cert.fingerprint, expiresAt: h.expiresAt });
      if (h.purgeBefore) await tx.enrollment.purgeNonces(h.purgeBefore);
      return cert;
    },
  };
}

/**
 * Proof: spend the nonce (locked first, see enrollment-writes.ts), then standing, signature and
 * counter. `verifying`: the signature being verified before the transaction (which begins after
 * it), used only if it was verified over the bytes built here from this nonce's record and with
 * the key read here (proof-signature.ts).
 */
export function proofStep(d: StepDeps, serial: string, p: { nonce: string; counter: number; signature: string }, verifying?: Promise<ProofCheck | undefined>): WriteStep<KeylineError | Concluded> {
  let n: NonceRecord | null = null;
  let ahead: ProofCheck | undefined;
  return {
    ...(verifying ? { ready: verifying.then((c) => void (ahead = c)) } : {}),
    lock: { key: p.nonce, run: async (tx) => void (n = await tx.enrollment.useNonce(p.nonce)) },
    async run(tx) {
      const t = d.now();
      if (!n || n.used || n.serial !== serial || new Date(n.expiresAt) <= t) {
        const why = !n ? 'unknown' : n.used ? 'already used' : n.serial !== serial ? 'issued to another device' : 'expired';
        return new KeylineError('NONCE_INVALID', `nonce: ${why}`);
      }
      const unit = await unitStanding(tx, serial);
      if (unit instanceof KeylineError) return unit;
      const signed = enrollmentSignedBytes({ nonce: Buffer.from(p.nonce, 'hex'), counter: p.counter, serial: Buffer.from(serial, 'hex'), certFingerprint: Buffer.from(n.certFingerprint, 'hex') });
      // A bad signature or a replayed counter on a valid nonce is what a clone or a tampered
      // host looks like: recorded in the audit log, not only in the process log.
      const refuse = async (e: KeylineError) => {
        await tx.audit.append({ action: 'device.enroll-refused', actor: AUDIT_ACTOR, subject: serial, detail: { code: e.code, counter: p.counter } });
        return e;
      };
      if (!d.verifyProof.verify(unit.publicKey, signed, p.signature, ahead)) return refuse(new KeylineError('SIGNATURE_INVALID', `signature: does not verify with the key of unit ${serial}`));
      const last = await tx.enrollment.lastCounter(serial);
      if (last !== null && p.counter <= last) return refuse(new KeylineError('REPLAYED', `counter: ${p.counter} is not greater than the last seen ${last}`));
      await tx.enrollment.setLastCounter(serial, p.counter, t.toISOString());
      return conclude(d, tx, unit, 'challenge', p.counter);
    },
  };
}

/**
 * mTLS: the broker verified the device's certificate; standing (with that certificate's key and
 * serial when the caller saw it), then conclude.
 */
export function verifiedStep(d: StepDeps, serial: string, shown?: ShownKey): WriteStep<KeylineError | Concluded> {
  return {
    async run(tx) {
      const unit = await unitStanding(tx, serial, shown);
      return unit instanceof KeylineError ? unit : conclude(d, tx, unit, 'mtls', null);
    },
  };
}

/** The group a unit is assigned by the rules (its work order's product read through `tx` once, then kept). */
export async function assignmentOf(d: StepDeps, tx: Tx, unit: UnitRecord): Promise<GroupAssignment> {
  let product = d.products.get(unit.workOrder);
  if (product === undefined) {
    const wo = await tx.workOrders.get(unit.workOrder);
    product = wo?.product ?? '';
    if (wo) d.products.set(unit.workOrder, product);
  }
  return assignGroup(d.groups, d.defaultGroup, { product, workOrder: unit.workOrder });
}

// Group, record and audit: shared by the challenge and mTLS paths.
async function conclude(d: StepDeps, tx: Tx, unit: UnitRecord, method: 'challenge' | 'mtls', counter: number | null): Promise<Concluded> {
  const assignment = await assignmentOf(d, tx, unit);
  const previous = await tx.enrollment.get(unit.serial);
  if (!previous) await tx.enrollment.insert({ serial: unit.serial, counter, group: assignment.group, method, at: d.now().toISOString() });
  await tx.audit.append({
    action: previous ? 'device.reauthenticated' : 'device.enrolled', actor: AUDIT_ACTOR, subject: unit.serial,
    detail: { method, group: assignment.group, ...(counter === null ? {} : { counter }) },
  });
  return { assignment, reenrolled: previous !== null };
}
