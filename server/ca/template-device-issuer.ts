/**
 * The fast device issuer: fills the cached DER template (serial, validity, subject CN, public key,
 * SKI at fixed offsets), signs the TBSCertificate through the `Signer`, and appends the signature.
 * Thousands of certificates per second per core, each one compressible to Microchip's 72 bytes.
 */
import { createHash } from 'node:crypto';
import { KeylineError, ValidationError } from '../../common/errors.js';
import { attachSignature, compressedHeader, fillTemplate } from '../../secure-element/atcacert/build.js';
import { readCertFields } from '../../secure-element/atcacert/cert-fields.js';
import { dateVariantFor } from '../../secure-element/atcacert/device-defs.js';
import type { Signer } from '../hsm/key-store.js';
import type { DeviceCertRequest, DeviceIssuer, IssuedCertificate } from './device-issuer.js';
import { deviceValidity, checkValidityYears } from './device-profile.js';
import { DeviceTemplateCache } from './device-template.js';

/** What the template issuer needs. */
export interface TemplateDeviceIssuerOptions {
  /** The issuing CA's key (P-256). */
  signer: Signer;
  /** The issuing CA certificate (DER); its key must be the signer's. */
  issuingCaDer: Uint8Array;
  crlUrl?: string;
  ocspUrl?: string;
  /** Whole years, 0-127; 0 = no well-defined expiration. */
  validityYears: number;
}

/** Creates a DeviceIssuer over the DER template of the device profile. */
export function createTemplateDeviceIssuer(opts: TemplateDeviceIssuerOptions): DeviceIssuer {
  const { signer, validityYears } = opts;
  checkValidityYears(validityYears);
  if (signer.curve !== 'P-256') throw new KeylineError('UNSUPPORTED_CURVE', `device certificates are signed with P-256 (the chip verifies P-256), signer is ${signer.curve}`);
  const ca = readCertFields(opts.issuingCaDer);
  const caSpki = Buffer.from(opts.issuingCaDer.subarray(ca.spki.start, ca.spki.end));
  const templates = new DeviceTemplateCache({
    issuingCaDer: opts.issuingCaDer,
    validityYears,
    ...(opts.crlUrl !== undefined ? { crlUrl: opts.crlUrl } : {}),
    ...(opts.ocspUrl !== undefined ? { ocspUrl: opts.ocspUrl } : {}),
  });
  // Checked once, lazily (publicKeySpki is async): a CA certificate that is not the signer's would
  // issue certificates that never verify.
  let keyCheck: Promise<void> | undefined;
  const checkKey = async (): Promise<void> => {
    const spki = Buffer.from(await signer.publicKeySpki());
    if (!spki.equals(caSpki)) throw new KeylineError('CA_KEY_MISMATCH', `issuing CA certificate does not hold the public key of signer ${signer.keyRef}`);
  };

  return {
    async issue(req: DeviceCertRequest): Promise<IssuedCertificate> {
      keyCheck ??= checkKey();
      await keyCheck;
      if (req.chipSerial.length !== 9) throw new ValidationError('INVALID_SERIAL', `chipSerial must be 9 bytes, got ${req.chipSerial.length}`, { detail: { field: 'chipSerial' } });
      if (req.publicKey.length !== 64) throw new ValidationError('INVALID_PUBLIC_KEY', `publicKey must be 64 bytes X‖Y, got ${req.publicKey.length}`, { detail: { field: 'publicKey' } });
      const validity = deviceValidity(req.issuedAt, validityYears);
      const def = templates.get(req.product, dateVariantFor(validity.issue, validityYears));
      const comp = compressedHeader(def, validity.issue, validity.expireYears);
      const filled = fillTemplate(def, { publicKey: req.publicKey, comp, chipSerial: req.chipSerial });
      const sig = await signer.sign(filled.tbs);
      if (sig.length !== 64) throw new KeylineError('HSM_ERROR', `signer ${signer.keyRef} returned ${sig.length} signature bytes, expected 64 (P-256 r‖s)`);
      const der = attachSignature(def, filled.prefix, sig);
      const sn = def.std.certSn;
      return {
        der,
        serialHex: Buffer.from(der.subarray(sn.offset, sn.offset + sn.count)).toString('hex'),
        fingerprintSha256: createHash('sha256').update(der).digest('hex'),
        notBefore: validity.notBefore,
        notAfter: validity.notAfter,
      };
    },
  };
}

/** The definitions the chip side rebuilds this issuer's certificates with (same template). */
export { deviceCertDef, deviceCertDefs, signerCertDef } from '../../secure-element/atcacert/index.js';
