/**
 * Devices for the cloud-protocol tests (issue 16): units issued and confirmed through the real
 * station API, their keys held in software so the clouds' device SDKs can present the line
 * certificate over TLS (the SDKs take a PEM key; on hardware the chip signs the handshake).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Test } from 'tap';
import { toPem } from '../../common/pem.js';
import type { TestPki } from './pki.js';
import { clientFor, operatorFor } from './server.js';
import { chipSerialHex, deviceKey } from './device-keys.js';

/** A unit as a device holds it. */
export interface CloudTestDevice {
  serial: string;
  /** The line certificate (PEM) and its chain (certificate + issuing CA). */
  certPem: string;
  chainPem: string;
  keyPem: string;
  privateKey: KeyObject;
  fingerprint: string;
  certificateSerial: string;
}

/** Creates work order `workOrder` (product Sensor; ATECC608 units unless `chip` says) and issues and confirms `n` units on it. */
export async function issueCloudDevices(t: Test, pki: TestPki, apiUrl: string, n: number, workOrder: string, opts: { confirm?: boolean; product?: string; chip?: 'se050' } = {}): Promise<CloudTestDevice[]> {
  await operatorFor(t, pki, apiUrl).createWorkOrder({ id: workOrder, product: opts.product ?? 'Sensor', quota: n, ...(opts.chip ? { chip: opts.chip } : {}) });
  const station = clientFor(t, pki, apiUrl);
  const issuingPem = readFileSync(pki.issuingCertPath, 'utf8');
  const out: CloudTestDevice[] = [];
  for (let i = 0; i < n; i++) {
    const key = deviceKey();
    // An SE050's serial is its 18-byte unique id.
    const serial = opts.chip === 'se050' ? randomBytes(18).toString('hex').toUpperCase() : chipSerialHex();
    const issued = await station.issueUnit({ serial, publicKey: key.rawHex, workOrder });
    if (opts.confirm !== false) await station.confirmUnit(serial, issued.fingerprintSha256);
    const keyPem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    out.push({
      serial, certPem: issued.certificatePem, chainPem: issued.certificatePem + issuingPem, keyPem, privateKey: createPrivateKey(keyPem),
      fingerprint: issued.fingerprintSha256, certificateSerial: issued.certificateSerial,
    });
  }
  return out;
}

/** The PEM of DER bytes (for assertions on what a device received). */
export const pemOf = (der: Uint8Array): string => toPem(der);

/** A PEM PKCS#10 request for CN = `cn` signed with `keyPem` (openssl req, as a device's tooling makes one). */
export function csrPem(dir: string, keyPem: string, cn: string): string {
  const keyFile = join(dir, `csr-${randomBytes(6).toString('hex')}.key.pem`);
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  return execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', `/CN=${cn}`], { encoding: 'utf8' });
}

/** A second P-256 key in PEM (another key slot of the chip). */
export const secondKeyPem = (): string => deviceKey().privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
