/**
 * A unit looked up the ways a person has at hand (chip serial from the label, certificate
 * fingerprint, certificate serial from a CRL or a cloud console) and its whole story: every
 * audit record about it (issue, confirm, quarantine, release, registrations, enrollment, revoke),
 * its registry jobs, its enrollment, its revocation and its certificate decoded. One read-only
 * transaction; the console and GET /v1/units/:serial/story both answer with it (issue 18).
 */
import { KeylineError } from '../../common/errors.js';
import type { Actor } from '../../common/roles.js';
import { describeCertificate, type CertificateDescription } from '../ca/describe-certificate.js';
import { normaliseSerialHex, type AuditRecord, type EnrollmentRecord, type OutboxJobRecord, type RevocationRecord, type Store, type Tx, type UnitRecord } from '../store/store.js';
import { assertStationOnWorkOrder } from './policies.js';
import { unitView } from './views.js';
import type { UnitDetail } from './unit-lifecycle.js';
import { workOrderOf } from './work-orders.js';

/** How a search term matched. */
export type UnitMatch = 'serial' | 'fingerprint' | 'certificateSerial';

/** A unit's story. */
export interface UnitStory {
  unit: UnitDetail;
  /** Oldest first; at most the newest 500. */
  audit: AuditRecord[];
  jobs: OutboxJobRecord[];
  enrollment: EnrollmentRecord | null;
  revocation: RevocationRecord | null;
  certificate: CertificateDescription;
}

/** What the inspection reads. */
export interface UnitInspectionDeps {
  store: Store;
}

/** Builds the lookups. */
export function createUnitInspection({ store }: UnitInspectionDeps) {
  return {
    /**
     * Finds a unit by chip serial (18 hex digits), certificate fingerprint (64) or certificate
     * serial (any other hex, colons and 0x allowed); null when nothing matches.
     */
    async find(term: string): Promise<{ unit: UnitDetail; matched: UnitMatch } | null> {
      const hex = term.trim().replace(/^0x/i, '').replace(/[:\s]/g, '');
      if (!/^[0-9A-Fa-f]{1,64}$/.test(hex)) return null;
      return store.transaction(async (tx) => {
        const tries: Array<[UnitMatch, () => Promise<UnitRecord | null>]> = [];
        if (hex.length === 18) tries.push(['serial', () => tx.units.getBySerial(hex.toUpperCase())]);
        if (hex.length === 64) tries.push(['fingerprint', () => tx.units.getByFingerprint(hex.toLowerCase())]);
        if (hex.length <= 40) tries.push(['certificateSerial', () => tx.units.getByCertificateSerial(normaliseSerialHex(hex.toLowerCase()))]);
        for (const [matched, get] of tries) {
          const u = await get();
          if (u) return { unit: unitView(u), matched };
        }
        return null;
      }, { readOnly: true });
    },

    /** The unit's story; UNKNOWN_UNIT when absent, STATION_NOT_ALLOWED for a station off its work order. */
    async story(serial: string, actor: Actor): Promise<UnitStory> {
      return store.transaction(async (tx) => {
        const u = await unitOf(tx, serial);
        assertStationOnWorkOrder(actor, await workOrderOf(tx, u.workOrder));
        const [audit, jobs, enrollment, revocation] = await Promise.all([
          tx.audit.listBySubject([u.serial, u.certificateSerial], 500),
          tx.outbox.jobsFor(u.serial),
          tx.enrollment.get(u.serial),
          tx.revocations.get(u.certificateSerial),
        ]);
        return { unit: unitView(u, true), audit, jobs, enrollment, revocation, certificate: describeCertificate(u.certificateDer) };
      }, { readOnly: true });
    },
  };
}

/** The inspection's functions. */
export type UnitInspection = ReturnType<typeof createUnitInspection>;

async function unitOf(tx: Tx, serial: string): Promise<UnitRecord> {
  const u = await tx.units.getBySerial(serial.toUpperCase());
  if (!u) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${serial.toUpperCase()}`, { detail: { serial } });
  return u;
}
