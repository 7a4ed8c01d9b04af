/**
 * Test doubles for the provisioning tests: a DeviceIssuer that returns deterministic DER-like
 * bytes (the real DER-template issuer is tested in test/server/ca), and P-256 key makers.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { DeviceCertRequest, DeviceIssuer, IssuedCertificate } from '../../../server/ca/device-issuer.js';
import type { ChipSerial } from '../../../common/protocol/station-api.js';
import { serialOf } from '../../helpers/requests.js';

/** A fake issuer: "DER" = a fixed prefix ‖ serial ‖ key ‖ a fresh certificate serial; optional delay. */
export function fakeIssuer(opts: { delayMs?: number } = {}): DeviceIssuer & { calls: number } {
  const issuer = {
    calls: 0,
    async issue(req: DeviceCertRequest): Promise<IssuedCertificate> {
      issuer.calls++;
      if (opts.delayMs) await new Promise((r) => setTimeout(r, Math.random() * opts.delayMs!));
      const serial = randomBytes(16);
      serial[0]! &= 0x7f;
      const der = Buffer.concat([Buffer.from('3082', 'hex'), Buffer.from(req.chipSerial), Buffer.from(req.publicKey), serial, Buffer.from(req.product)]);
      return { der, serialHex: serial.toString('hex'), fingerprintSha256: createHash('sha256').update(der).digest('hex'), notBefore: req.issuedAt, notAfter: null };
    },
  };
  return issuer;
}

/**
 * A fresh P-256 key: raw X‖Y hex and SPKI base64, as a chip and a station would present it.
 * X‖Y comes from the SPKI DER (its last 64 bytes), never from a JWK export: on Node 20 exporting
 * a generateKeyPairSync key as JWK can deadlock the thread for good (the export holds the key's
 * mutex while it allocates; a GC then finalises the spent key-generation job, whose destructor
 * takes the same mutex). crash.test.ts's child hung that way once in a few hundred runs.
 */
export function p256Key(): { hex: string; spki: string; raw: Buffer } {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const raw = Buffer.from(spki.subarray(spki.length - 64));
  return { hex: raw.toString('hex'), spki: spki.toString('base64'), raw };
}

let n = 0;
/** A fresh, valid chip serial (0123 … EE, as ATECC608 serials look). */
export function chipSerial(): ChipSerial {
  n++;
  return serialOf('0123' + (n + Math.floor(Math.random() * 1e6) * 1000).toString(16).toUpperCase().padStart(12, '0') + 'EE');
}
