/**
 * Re-enrollment (EST simplereenroll, RFC 7030 §4.2.2): a unit in service gets a new certificate
 * in place of the one its client authenticated with, for a new key (or the same key when the
 * profile allows it). Same shape as issuance (issue-units.ts): the rules on a read-only snapshot,
 * the HSM signs outside any write lock, then one write transaction re-applies the rules to fresh
 * rows and moves the old certificate to the superseded list, writes the new one into the unit,
 * revokes the old one (reason superseded) when asked, and appends the audit record. A unit is
 * re-certified, not created: the work order's quota counts units and is not charged again.
 */
import { createHash } from 'node:crypto';
import { ConflictError, KeylineError } from '../../common/errors.js';
import type { ChipSerial } from '../../common/protocol/station-api.js';
import type { IssuedCertificate } from '../ca/device-issuer.js';
import type { SupersededCertificateRecord, Tx, UnitRecord } from '../store/store.js';
import { asError, type IssueDeps, type IssueResult } from './issuance.js';

/** One re-enrollment, as the EST adapter hands it over. */
export interface ReissueRequest {
  serial: ChipSerial;
  /** The new key, raw P-256 X‖Y (checked on the curve, possession proven by the CSR). */
  publicKey: Uint8Array;
  /** Certificate serial (lowercase hex) of the certificate the client authenticated with. */
  presentedCertificateSerial: string;
  /** The profile lets a unit's current key be certified again (RFC 7030 §4.2.2 re-key is the default). */
  allowKeyReuse: boolean;
  /** Revoke the superseded certificate (RFC 5280 reason superseded) in the same transaction. */
  revokeSuperseded: boolean;
  /** When given, the unit must belong to this work order (an EST label serves one). */
  workOrder?: string;
}

/** The new certificate, or the current one returned to a retry. */
export interface ReissueResult extends IssueResult {
  /** The certificate this call superseded (null on a replay). */
  supersededCertificateSerial: string | null;
}

/** What the rules look at, read inside one transaction. */
export interface ReissueSnapshot {
  req: ReissueRequest;
  unit: UnitRecord | null;
  /** The unit holding the requested key, if any. */
  byKey: UnitRecord | null;
  /** Superseded certificates of the requested key (any unit). */
  keyHistory: SupersededCertificateRecord[];
  /** The presented certificate when it is a superseded one. */
  presentedSuperseded: SupersededCertificateRecord | null;
  presentedRevoked: boolean;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

async function snapshot(tx: Tx, req: ReissueRequest): Promise<ReissueSnapshot> {
  const [unit, byKey, keyHistory, presentedSuperseded, revocation] = await Promise.all([
    tx.units.getBySerial(req.serial), tx.units.getByPublicKey(req.publicKey), tx.superseded.findByPublicKey(req.publicKey),
    tx.superseded.get(req.presentedCertificateSerial), tx.revocations.get(req.presentedCertificateSerial),
  ]);
  return { req, unit, byKey, keyHistory, presentedSuperseded, presentedRevoked: revocation !== null };
}

/**
 * The rules, in order (the first refusal wins). Returns the unit to replay its current
 * certificate (a retry whose first answer was lost: it authenticates with the certificate this
 * very key's certificate superseded), or the unit to re-certify.
 */
export function evaluateReissue(s: ReissueSnapshot): { replay: boolean; unit: UnitRecord } {
  const { req } = s;
  const unit = s.unit;
  if (!unit) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${req.serial}`, { detail: { serial: req.serial } });
  if (unit.status === 'revoked') throw new KeylineError('UNIT_REVOKED', `serial: unit ${req.serial} is revoked`, { detail: { serial: req.serial } });
  if (req.workOrder !== undefined && unit.workOrder !== req.workOrder) {
    throw new KeylineError('FORBIDDEN', `unit ${req.serial} is on work order '${unit.workOrder}', not '${req.workOrder}'`, { detail: { serial: req.serial } });
  }
  if (unit.status === 'quarantined') throw new KeylineError('UNIT_QUARANTINED', `serial: unit ${req.serial} is quarantined`, { detail: { serial: req.serial } });
  if (req.presentedCertificateSerial !== unit.certificateSerial) {
    const p = s.presentedSuperseded;
    if (p && p.serial === unit.serial && p.supersededBy === unit.certificateSerial && same(unit.publicKey, req.publicKey)) return { replay: true, unit };
    throw new KeylineError('CERTIFICATE_SUPERSEDED', `certificate ${req.presentedCertificateSerial} is not the current certificate of unit ${req.serial}`, { detail: { serial: req.serial } });
  }
  if (s.presentedRevoked) throw new KeylineError('CERTIFICATE_REVOKED', `certificate ${req.presentedCertificateSerial} of unit ${req.serial} is revoked`, { detail: { serial: req.serial } });
  // A key seen under another serial, now or before, is one key in two chips (issue-units' rule).
  const other = s.byKey && s.byKey.serial !== req.serial ? s.byKey.serial : s.keyHistory.find((h) => h.serial !== req.serial)?.serial;
  if (other) throw new ConflictError('DUPLICATE_KEY', `publicKey: already recorded for unit ${other}, refused for ${req.serial}`, { detail: { serial: req.serial, existingSerial: other } });
  if (same(unit.publicKey, req.publicKey) && !req.allowKeyReuse) {
    throw new KeylineError('KEY_REUSE_NOT_ALLOWED', `publicKey: re-enrollment of unit ${req.serial} needs a new key (this profile does not allow the current one again)`, { detail: { serial: req.serial } });
  }
  // The current key's own history (re-certified before, reuse allowed) does not make it an earlier key.
  if (!same(unit.publicKey, req.publicKey) && s.keyHistory.length > 0) {
    throw new KeylineError('KEY_REUSE_NOT_ALLOWED', `publicKey: an earlier key of unit ${req.serial}; a superseded key is never certified again`, { detail: { serial: req.serial } });
  }
  return { replay: false, unit };
}

const replayOf = (u: UnitRecord): ReissueResult => ({
  serial: u.serial, certificateDer: u.certificateDer, fingerprintSha256: u.fingerprintSha256, certificateSerial: u.certificateSerial, replayed: true, supersededCertificateSerial: null,
});

/** A certificate signed for a re-certification but not yet recorded (AWS Fleet Provisioning's pending certificate). */
export interface SignedReissue {
  /** The unit's current certificate, returned to a retry (nothing was signed). */
  replay?: ReissueResult;
  /** The new certificate, to be recorded by `activate`. */
  cert?: IssuedCertificate;
}

/**
 * The two halves of a re-enrollment, apart: `sign` applies the rules to a read-only snapshot and
 * has the HSM sign (nothing written); `activate` re-applies them to fresh rows in one write
 * transaction and records the certificate. `within` runs in that transaction first (a caller's
 * own writes that must commit with the record, or a throw that must prevent it).
 */
export function createReissueSteps(deps: IssueDeps) {
  return {
    async sign(req: ReissueRequest, actor: string): Promise<SignedReissue> {
      const issuedAt = deps.now();
      const first = await deps.store.transaction(async (tx) => {
        const s = await snapshot(tx, req);
        const verdict = evaluateReissue(s);
        const workOrder = verdict.replay ? null : await tx.workOrders.get(verdict.unit.workOrder);
        return { verdict, product: workOrder?.product ?? null, chip: workOrder?.chip };
      }, { readOnly: true }).catch(async (err: unknown) => {
        // The possible clone leaves a trace, as at issuance.
        if (err instanceof ConflictError && err.code === 'DUPLICATE_KEY') await auditDuplicate(deps, req, actor, err);
        throw err;
      });
      if (first.verdict.replay) return { replay: replayOf(first.verdict.unit) };
      if (first.product === null) throw new KeylineError('UNKNOWN_WORK_ORDER', `workOrder: '${first.verdict.unit.workOrder}' of unit ${req.serial} does not exist`);
      // The work order's chip picks the certificate profile, as at issuance (ca/chip-device-issuer.ts).
      return { cert: await deps.issuer.issue({ chip: first.chip, chipSerial: Buffer.from(req.serial, 'hex'), publicKey: req.publicKey, product: first.product, issuedAt }) };
    },

    async activate(req: ReissueRequest, cert: Pick<IssuedCertificate, 'der' | 'serialHex' | 'fingerprintSha256'>, actor: string, within?: (tx: Tx) => Promise<void>): Promise<ReissueResult> {
      const at = deps.now().toISOString();
      return deps.store.transaction(async (tx) => {
        await within?.(tx);
        const { replay, unit } = evaluateReissue(await snapshot(tx, req));
        if (replay) return replayOf(unit);
        // The template derives the certificate serial from key and issue hour: the same key again
        // within the hour is the current certificate, returned rather than issued twice.
        if (cert.serialHex === unit.certificateSerial) return replayOf(unit);
        return record(tx, req, unit, cert, at, actor);
      }).catch((err: unknown) => { throw asError(err); });
    },
  };
}

/** Builds `reissueUnit(request, actor)`; throws the refusal. */
export function createReissue(deps: IssueDeps): (req: ReissueRequest, actor: string) => Promise<ReissueResult> {
  const steps = createReissueSteps(deps);
  return async function reissueUnit(req, actor) {
    const signed = await steps.sign(req, actor);
    return signed.replay ?? steps.activate(req, signed.cert!, actor);
  };
}

async function record(tx: Tx, req: ReissueRequest, unit: UnitRecord, cert: Pick<IssuedCertificate, 'der' | 'serialHex' | 'fingerprintSha256'>, at: string, actor: string): Promise<ReissueResult> {
  const old = await tx.superseded.supersede(unit.serial, unit.certificateSerial, {
    publicKey: req.publicKey, certificateDer: cert.der, fingerprintSha256: cert.fingerprintSha256, certificateSerial: cert.serialHex,
  }, at);
  // The watcher of every process notices the revocation within a second (CRL, OCSP cache).
  if (req.revokeSuperseded) {
    await tx.revocations.add({ certificateSerial: old.certificateSerial, kind: 'device', subject: unit.serial, reason: 'superseded', revokedAt: at, revokedBy: actor });
  }
  await tx.audit.append({
    action: 'unit.reenrolled', actor, subject: unit.serial,
    detail: {
      workOrder: unit.workOrder, certificateSerial: cert.serialHex, fingerprint: cert.fingerprintSha256, supersededCertificateSerial: old.certificateSerial,
      keyChanged: !same(unit.publicKey, req.publicKey), supersededRevoked: req.revokeSuperseded,
    },
  });
  return {
    serial: unit.serial, certificateDer: cert.der, fingerprintSha256: cert.fingerprintSha256, certificateSerial: cert.serialHex, replayed: false,
    supersededCertificateSerial: old.certificateSerial,
  };
}

async function auditDuplicate(deps: IssueDeps, req: ReissueRequest, actor: string, error: KeylineError): Promise<void> {
  const existingSerial = error.detail?.existingSerial ?? null;
  const keySha256 = createHash('sha256').update(req.publicKey).digest('hex');
  await deps.store.transaction((tx) => tx.audit.append({ action: 'unit.duplicate_key', actor, subject: req.serial, detail: { existingSerial, publicKeySha256: keySha256, reenroll: true } }));
  deps.log.warn({ serial: req.serial, existingSerial, actor }, 'duplicate public key refused at re-enrollment');
}
