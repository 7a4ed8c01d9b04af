/**
 * Store records → the plain shapes the station API returns (common/protocol/station-api.ts).
 */
import type { UnitView, WorkOrderView } from '../../common/protocol/station-api.js';
import { toPem } from '../../common/pem.js';
import type { UnitRecord, WorkOrderRecord } from '../store/store.js';

/** A work order with its remaining quota. */
export function workOrderView(wo: WorkOrderRecord): WorkOrderView {
  return {
    ...wo, remaining: wo.quota - wo.issued, registries: wo.registries ?? ['self'], preregistration: wo.preregistration ?? 'confirmed',
    chip: wo.chip ?? 'atecc608', requireAttestation: wo.requireAttestation ?? false,
  };
}

/** A unit with its key as hex and, when asked, its certificate in PEM. */
export function unitView(u: UnitRecord, withCertificate = false): UnitView & { statusReason: string | null } {
  return {
    serial: u.serial,
    publicKey: Buffer.from(u.publicKey).toString('hex'),
    fingerprintSha256: u.fingerprintSha256,
    certificateSerial: u.certificateSerial,
    workOrder: u.workOrder,
    station: u.station,
    status: u.status,
    statusReason: u.statusReason,
    issuedAt: u.issuedAt,
    confirmedAt: u.confirmedAt,
    ...(withCertificate ? { certificatePem: toPem(u.certificateDer) } : {}),
  };
}
