/**
 * The SE050 device-certificate profile: plain DER, stored whole in the chip (SE050-OBJECT-MAP.md,
 * object 20000002), so none of the ATECC608's compressed-certificate constraints apply: validity
 * to the second, a certificate serial of its own, the 18-byte unique id as subject CN (36 hex
 * digits). Everything else is the ATECC608 profile's (secure-element/atcacert/device-defs.ts):
 * issuer Name copied byte for byte from the CA, subject O = product, P-256 key, keyUsage
 * digitalSignature (critical), extKeyUsage clientAuth, SKI, AKI = the CA's SKI, CRL distribution
 * point and OCSP AIA, ecdsa-with-SHA256; so the enrollment service, OCSP and CRLs treat both
 * chips' certificates alike. Built with the DER writer and signed through the `Signer`, as the
 * template issuer signs.
 */
import { createHash } from 'node:crypto';
import { KeylineError, ValidationError } from '../../common/errors.js';
import { bitString, ecdsaAlgorithm, ecdsaSigValue, extension, generalizedTime, oid, seq, tlv, unsignedInteger, x509Time } from '../../common/der/writer.js';
import { readCertFields, subjectKeyId } from '../../secure-element/atcacert/cert-fields.js';
import type { Signer } from '../hsm/key-store.js';
import { checkValidityYears } from './device-profile.js';
import type { DeviceCertRequest, DeviceIssuer, IssuedCertificate } from './device-issuer.js';

/** What the DER issuer needs (the template issuer's options). */
export interface DerDeviceIssuerOptions {
  signer: Signer;
  /** The issuing CA certificate (DER); its key must be the signer's. */
  issuingCaDer: Uint8Array;
  crlUrl?: string;
  ocspUrl?: string;
  /** Whole years, 0-127; 0 = no well-defined expiration (99991231235959Z, RFC 5280 §4.1.2.5). */
  validityYears: number;
}

/** Bytes of the chip serial this profile certifies (the SE050's unique id). */
const SERIAL_BYTES = 18;

const utf8 = (s: string) => Buffer.from(s, 'utf8');

function ia5(url: string, field: string): Buffer {
  // IA5String URIs (RFC 5280 §4.2.1.13/§4.2.2.1); spaces and non-ASCII must arrive percent-encoded.
  if (!/^[\x21-\x7e]+$/.test(url)) throw new ValidationError('VALIDATION_FAILED', `${field} must be a non-empty ASCII URI, got ${JSON.stringify(url)}`, { detail: { field } });
  return Buffer.from(url, 'latin1');
}

function checkProduct(product: string): void {
  // ub-organization-name (RFC 5280 Appendix A), printable, as the ATECC608 template requires.
  const chars = [...product].length;
  if (chars < 1 || chars > 64 || /[\u0000-\u001f\u007f-\u009f]/.test(product)) {
    throw new ValidationError('VALIDATION_FAILED', `product must be 1-64 printable characters, got ${JSON.stringify(product)}`, { detail: { field: 'product' } });
  }
}

/** notBefore to the second, notAfter whole years on (the same instant), or none. */
function validity(issuedAt: Date, years: number): { notBefore: Date; notAfter: Date | null } {
  if (Number.isNaN(issuedAt.getTime())) throw new ValidationError('VALIDATION_FAILED', 'issuedAt is not a valid date', { detail: { field: 'issuedAt' } });
  const notBefore = new Date(Math.floor(issuedAt.getTime() / 1000) * 1000);
  if (years === 0) return { notBefore, notAfter: null };
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + years);
  return { notBefore, notAfter };
}

/**
 * The certificate serial: 16 bytes of SHA-256 over the chip serial, the key and notBefore, made
 * positive with a non-zero first byte (RFC 5280 §4.1.2.2). Unique per key and second, and the
 * same for the same key at the same time, as the ATECC608 template's key-hash serial is per hour.
 */
function certificateSerial(chipSerial: Uint8Array, publicKey: Uint8Array, notBefore: Date): Buffer {
  const h = createHash('sha256').update('keyline-se050-device-v1').update(chipSerial).update(publicKey).update(String(notBefore.getTime())).digest().subarray(0, 16);
  h[0] = (h[0]! & 0x7f) | 0x40;
  return h;
}

/** Creates a DeviceIssuer of plain-DER certificates for SE050 units. */
export function createDerDeviceIssuer(opts: DerDeviceIssuerOptions): DeviceIssuer {
  const { signer, validityYears } = opts;
  checkValidityYears(validityYears);
  if (signer.curve !== 'P-256') throw new KeylineError('UNSUPPORTED_CURVE', `device certificates are signed with P-256, signer is ${signer.curve}`);
  const ca = readCertFields(opts.issuingCaDer);
  const caSki = subjectKeyId(opts.issuingCaDer, ca);
  if (!caSki) throw new ValidationError('VALIDATION_FAILED', 'issuing CA certificate has no subjectKeyIdentifier to use as authorityKeyIdentifier');
  const caSpki = Buffer.from(opts.issuingCaDer.subarray(ca.spki.start, ca.spki.end));
  const issuer = Buffer.from(opts.issuingCaDer.subarray(ca.subject.start, ca.subject.end));
  const sigAlg = ecdsaAlgorithm('P-256');
  // The extensions every certificate of this issuer shares, and the one it does not (SKI).
  const head = [
    extension('2.5.29.15', Buffer.of(0x03, 0x02, 0x07, 0x80), true), // keyUsage digitalSignature (RFC 5280 §4.2.1.3)
    extension('2.5.29.37', seq(oid('1.3.6.1.5.5.7.3.2'))), // id-kp-clientAuth (§4.2.1.12)
  ];
  const tail = [extension('2.5.29.35', seq(tlv(0x80, caSki)))]; // AKI keyIdentifier (§4.2.1.1)
  if (opts.crlUrl !== undefined) tail.push(extension('2.5.29.31', seq(seq(tlv(0xa0, tlv(0xa0, tlv(0x86, ia5(opts.crlUrl, 'crlUrl'))))))));
  if (opts.ocspUrl !== undefined) tail.push(extension('1.3.6.1.5.5.7.1.1', seq(seq(oid('1.3.6.1.5.5.7.48.1'), tlv(0x86, ia5(opts.ocspUrl, 'ocspUrl'))))));
  let keyCheck: Promise<void> | undefined;
  const checkKey = async (): Promise<void> => {
    if (!Buffer.from(await signer.publicKeySpki()).equals(caSpki)) throw new KeylineError('CA_KEY_MISMATCH', `issuing CA certificate does not hold the public key of signer ${signer.keyRef}`);
  };

  return {
    async issue(req: DeviceCertRequest): Promise<IssuedCertificate> {
      keyCheck ??= checkKey();
      await keyCheck;
      if (req.chipSerial.length !== SERIAL_BYTES) throw new ValidationError('INVALID_SERIAL', `chipSerial must be the SE050's ${SERIAL_BYTES}-byte unique id, got ${req.chipSerial.length} bytes`, { detail: { field: 'chipSerial' } });
      if (req.publicKey.length !== 64) throw new ValidationError('INVALID_PUBLIC_KEY', `publicKey must be 64 bytes X‖Y, got ${req.publicKey.length}`, { detail: { field: 'publicKey' } });
      checkProduct(req.product);
      const { notBefore, notAfter } = validity(req.issuedAt, validityYears);
      const point = Buffer.concat([Buffer.of(0x04), req.publicKey]);
      // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value.
      const ski = createHash('sha1').update(point).digest();
      const tbs = seq(
        tlv(0xa0, Buffer.of(0x02, 0x01, 0x02)), // v3
        unsignedInteger(certificateSerial(req.chipSerial, req.publicKey, notBefore)),
        sigAlg,
        issuer,
        seq(x509Time(notBefore), notAfter ? x509Time(notAfter) : generalizedTime(new Date(Date.UTC(9999, 11, 31, 23, 59, 59)))),
        seq(
          tlv(0x31, seq(oid('2.5.4.10'), tlv(0x0c, utf8(req.product)))),
          tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, utf8(Buffer.from(req.chipSerial).toString('hex').toUpperCase())))),
        ),
        seq(seq(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), bitString(point)),
        tlv(0xa3, seq(...head, extension('2.5.29.14', tlv(0x04, ski)), ...tail)),
      );
      const sig = await signer.sign(tbs);
      if (sig.length !== 64) throw new KeylineError('HSM_ERROR', `signer ${signer.keyRef} returned ${sig.length} signature bytes, expected 64 (P-256 r‖s)`);
      const der = new Uint8Array(seq(tbs, sigAlg, bitString(ecdsaSigValue(sig))));
      const f = readCertFields(der);
      return {
        der,
        serialHex: Buffer.from(der.subarray(f.serial.value, f.serial.end)).toString('hex').replace(/^0+(?=.)/, ''),
        fingerprintSha256: createHash('sha256').update(der).digest('hex'),
        notBefore,
        notAfter,
      };
    },
  };
}
