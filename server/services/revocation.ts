/**
 * The revocation service: revokes a unit (by chip serial), every unit of a work order, or one
 * certificate (by certificate serial) in one transaction: unit status -> revoked, a
 * revoked_certificates row and an audit record per certificate. Publication (CRL re-issue, OCSP
 * cache invalidation) follows the commit through `onRevoked`; another process notices the new
 * rows through the revocation sequence number (services/revocation-watcher.ts).
 */
import { KeylineError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import type { CertStatus } from '../ca/ocsp-response.js';
import { authorityKeyIdOf } from '../ca/key-id.js';
import { SELF_REGISTRY } from '../registry/self-registry.js';
import { normaliseSerialHex, type RevocationReason, type Store, type Tx, type UnitRecord } from '../store/store.js';
import type { RevocationRequest } from '../../common/protocol/revocation.js';

/** One certificate the request touched. */
export interface RevokedCertificate {
  certificateSerial: string;
  /** Chip serial when the certificate belongs to a unit. */
  serial: string | null;
  kind: 'device' | 'station' | 'other';
  reason: RevocationReason;
  revokedAt: string;
  /** True when it was already revoked (the first revocation's reason and time are kept). */
  alreadyRevoked: boolean;
}

/** What the service needs. */
export interface RevocationDeps {
  store: Store;
  /** Called after the commit with the newly revoked certificate serials (CRL re-issue, OCSP invalidation). */
  onRevoked?: (certificateSerials: string[]) => Promise<void>;
  clock?: () => Date;
  log?: Logger;
}

/** The revocation service's functions. */
export type Revocation = ReturnType<typeof createRevocation>;

/** Builds the revocation service. */
export function createRevocation(deps: RevocationDeps) {
  const now = deps.clock ?? (() => new Date());
  const log = deps.log ?? silentLogger;

  /** Revokes what `req` names on behalf of `actor`; returns every certificate touched. */
  async function revoke(req: RevocationRequest, actor: string): Promise<RevokedCertificate[]> {
    const at = now().toISOString();
    const result = await deps.store.transaction(async (tx) => {
      const out: RevokedCertificate[] = [];
      for (const unit of await targetUnits(tx, req)) out.push(await revokeOne(tx, { unit, certificateSerial: unit.certificateSerial }, req.reason, at, actor));
      if (req.certificateSerial !== undefined && out.length === 0) {
        out.push(await revokeOne(tx, { unit: null, certificateSerial: normaliseSerialHex(req.certificateSerial.replace(/^0x/i, '')) }, req.reason, at, actor));
      }
      return out;
    });
    const fresh = result.filter((r) => !r.alreadyRevoked).map((r) => r.certificateSerial);
    log.info({ actor, target: req.serial ?? req.workOrder ?? req.certificateSerial, reason: req.reason, revoked: fresh.length, already: result.length - fresh.length }, 'revoked');
    if (fresh.length > 0) await deps.onRevoked?.(fresh);
    return result;
  }

  /**
   * The OCSP status of a certificate serial: revoked (recorded), good (a unit we issued), unknown
   * otherwise. With `issuerKeyId` (several issuing CAs, issue 19), a unit whose certificate
   * another CA signed (its AKI) is unknown to this one: a responder answers only for its own CA.
   */
  async function certificateStatus(certificateSerialHex: string, issuerKeyId?: string): Promise<CertStatus> {
    return deps.store.transaction(async (tx) => {
      const r = await tx.revocations.get(certificateSerialHex);
      const unit = r && !issuerKeyId ? null : await tx.units.getByCertificateSerial(certificateSerialHex);
      if (unit && issuerKeyId && authorityKeyIdOf(unit.certificateDer) !== issuerKeyId) return { status: 'unknown' };
      if (r) return { status: 'revoked', revokedAt: new Date(r.revokedAt), reason: r.reason };
      return unit ? { status: 'good' } : { status: 'unknown' };
    }, { readOnly: true });
  }

  return { revoke, certificateStatus };
}

async function targetUnits(tx: Tx, req: RevocationRequest): Promise<UnitRecord[]> {
  if (req.serial !== undefined) {
    const unit = await tx.units.getBySerial(req.serial.toUpperCase());
    if (!unit) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${req.serial.toUpperCase()}`);
    return [unit];
  }
  if (req.workOrder !== undefined) {
    if (!(await tx.workOrders.get(req.workOrder))) throw new KeylineError('UNKNOWN_WORK_ORDER', `workOrder: no work order '${req.workOrder}'`);
    const units: UnitRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await tx.units.list({ workOrder: req.workOrder, limit: 1000, ...(cursor ? { cursor } : {}) });
      units.push(...page.units);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return units;
  }
  const unit = await tx.units.getByCertificateSerial(normaliseSerialHex(req.certificateSerial!.replace(/^0x/i, '')));
  return unit ? [unit] : [];
}

/**
 * Queues a 'revoke' job for every registry the unit is registered with or has a register job
 * for, in the revocation's transaction (the outbox delivers it: AWS revokes or deactivates the
 * certificate, Azure disables the enrollment). 'self' needs none: enrollment refuses revoked units.
 */
async function enqueueRegistryRevokes(tx: Tx, unit: UnitRecord, at: string): Promise<void> {
  const jobs = await tx.outbox.jobsFor(unit.serial);
  const candidates = new Set([...((await tx.workOrders.get(unit.workOrder))?.registries ?? []), ...jobs.map((j) => j.registry)]);
  for (const registry of candidates) {
    if (registry === SELF_REGISTRY) continue;
    if (jobs.some((j) => j.registry === registry && j.action === 'revoke')) continue;
    const known = jobs.some((j) => j.registry === registry && j.action === 'register') || (await tx.outbox.getRegistration(unit.serial, registry)) !== null;
    if (known) await tx.outbox.enqueue({ serial: unit.serial, registry, action: 'revoke', at });
  }
}

async function revokeOne(tx: Tx, t: { unit: UnitRecord | null; certificateSerial: string }, reason: RevocationReason, at: string, actor: string): Promise<RevokedCertificate> {
  const certificateSerial = normaliseSerialHex(t.certificateSerial);
  const serial = t.unit?.serial ?? null;
  const kind = t.unit ? 'device' : 'other';
  const existing = await tx.revocations.get(certificateSerial);
  if (existing) {
    return { certificateSerial, serial, kind: existing.kind, reason: existing.reason, revokedAt: existing.revokedAt, alreadyRevoked: true };
  }
  await tx.revocations.add({ certificateSerial, kind, subject: serial, reason, revokedAt: at, revokedBy: actor });
  if (t.unit) {
    await tx.units.setStatus(t.unit.serial, 'revoked', { at, reason });
    await enqueueRegistryRevokes(tx, t.unit, at);
  }
  await tx.audit.append({ action: 'certificate.revoke', actor, subject: certificateSerial, detail: { serial, kind, reason, ...(t.unit ? { workOrder: t.unit.workOrder } : {}) } });
  return { certificateSerial, serial, kind, reason, revokedAt: at, alreadyRevoked: false };
}
