/**
 * A device identity held in software for the TLS tests (the chip's key cannot drive node's TLS):
 * a certificate from the test issuing CA with CN = serial and clientAuth, recorded as a confirmed
 * unit so the service knows it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { toPem } from '../../../common/pem.js';
import { createClientCert, type Issuer } from '../../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../../server/ca/software-key.js';
import type { Store } from '../../../server/store/store.js';

/** PEM identity of a software device. */
export interface SoftDevice {
  serial: string;
  cert: string;
  key: string;
  certDer: Uint8Array;
  certificateSerial: string;
}

/** Issues the identity and (unless `record` is false) records the unit as confirmed. */
export async function softDevice(issuer: Issuer, store: Store, o: { serial?: string; record?: boolean; workOrder?: string } = {}): Promise<SoftDevice> {
  const serial = o.serial ?? `01${randomBytes(8).toString('hex').toUpperCase()}`;
  const k = generateSoftwareKey();
  const cert = await createClientCert({ issuer, stationId: serial, org: 'Keyline Test', spki: k.spki });
  const der = new Uint8Array(cert.rawData);
  const at = new Date().toISOString();
  if (o.record !== false) {
    await store.transaction((tx) => tx.units.insert({
      serial, publicKey: k.spki.slice(-64), fingerprintSha256: createHash('sha256').update(der).digest('hex'), certificateDer: der,
      certificateSerial: cert.serialNumber.toLowerCase(), workOrder: o.workOrder ?? 'WO-1', station: 'test', status: 'confirmed', statusReason: null,
      idempotencyKey: null, issuedAt: at, confirmedAt: at, updatedAt: at,
    }));
  }
  return { serial, cert: toPem(der), key: k.privateKeyPem, certDer: der, certificateSerial: cert.serialNumber.toLowerCase() };
}
