/**
 * What a device keeps in its flash of an enrollment through a cloud protocol (beside the signed
 * configuration, which goes in the enrollment record as for the Keyline protocol): the
 * certificate Fleet Provisioning issued for the chip key (AWS has the device reconnect with it:
 * the line certificate it replaced is superseded, and revoked when the template says so), and
 * the assignment each protocol answered.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { fromPem } from '../../common/pem.js';

/** The device-state file's `cloud` member. */
export const cloudRecordSchema = z
  .object({
    /** The device's current certificate (PEM) when Fleet Provisioning issued one; absent: the line certificate. */
    certificatePem: z.string().includes('BEGIN CERTIFICATE').optional(),
    awsFleet: z.object({ url: z.string(), thingName: z.string(), certificateId: z.string(), at: z.string() }).strict().optional(),
    dps: z.object({ url: z.string(), assignedHub: z.string(), deviceId: z.string(), substatus: z.string().optional(), at: z.string() }).strict().optional(),
  })
  .strict();

/** What a device keeps of its cloud enrollments. */
export type CloudRecord = z.infer<typeof cloudRecordSchema>;

/**
 * The certificate the device presents, in any protocol: the one Fleet Provisioning issued for its
 * key when it has one (it superseded the line certificate, which may be revoked), else the line
 * certificate; with its SHA-256 (hex).
 */
export function presentedCertificate(state: { cloud?: CloudRecord | undefined }, lineCertificate: { der: Uint8Array; fingerprint: string }): { der: Uint8Array; fingerprint: string } {
  const pem = state.cloud?.certificatePem;
  if (!pem) return lineCertificate;
  const der = fromPem(pem);
  return { der, fingerprint: createHash('sha256').update(der).digest('hex') };
}
