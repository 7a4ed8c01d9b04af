/**
 * Keyline's device certificate definition, designed with the CA's device profile so that the
 * issued DER and the chip's 72-byte compressed form round-trip bit-exactly. One definition per
 * date-encoding variant (UTCTime before 2050, GeneralizedTime from 2050 on, RFC 5280 §4.1.2.5);
 * the template ID in compressed byte 69 tells the device which one to rebuild with.
 */
import { KeylineError, ValidationError } from '../../common/errors.js';
import { type CertDef, DateFormat, NO_CERT_LOC, NO_DEVICE_LOC, SnSource } from './cert-def.js';
import { readCertFields, subjectKeyId } from './cert-fields.js';
import { type CertDate } from './date.js';
import { readTlv } from '../../common/der/reader.js';
import { encodeEcdsaSigBitString } from './signature-value.js';
import { type Der, marked, oid, raw, tlv } from './template-der.js';
import { Slot } from '../slot-map.js';
import { checkCompressedHeader } from './rebuild.js';

/** Which time types a device certificate carries for notBefore / notAfter. */
export type DateVariant = 'utc-utc' | 'utc-gen' | 'gen-gen';

/** Template IDs (4 bits) Keyline assigns; the signer certificate uses 1. */
export const TemplateId = { signer: 1, 'utc-utc': 2, 'utc-gen': 3, 'gen-gen': 4 } as const;

/** Chain ID of Keyline's root → issuing CA → device chain. */
export const CHAIN_ID = 0;

/** What a device definition is made from: the same inputs that key the issuer's template cache. */
export interface DeviceDefOptions {
  /** The issuing CA certificate: its subject becomes the issuer, its SKI the AKI. */
  issuingCaDer: Uint8Array;
  /** Subject O (UTF8String, 1-64 characters: ub-organization-name, RFC 5280 Appendix A). */
  product: string;
  /** Whole years of validity, 0-127; 0 = no well-defined expiration (99991231235959Z). */
  validityYears: number;
  /** cRLDistributionPoints URI; omitted when absent (no empty sequences). */
  crlUrl?: string;
  /** authorityInfoAccess id-ad-ocsp URI; omitted when absent. */
  ocspUrl?: string;
}

/** Serial number length in bytes (CA/B and RFC 5280 §4.1.2.2: positive, at most 20 octets). */
export const SERIAL_BYTES = 16;

/** The date variant a certificate issued at `issue` for `years` needs. */
export function dateVariantFor(issue: CertDate, years: number): DateVariant {
  if (issue.year >= 2050) return 'gen-gen';
  return years === 0 || issue.year + years >= 2050 ? 'utc-gen' : 'utc-utc';
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function ia5(url: string, what: string): Uint8Array {
  // IA5String URIs (RFC 5280 §4.2.1.13/§4.2.2.1); spaces and non-ASCII must arrive percent-encoded.
  if (!/^[\x21-\x7e]+$/.test(url)) throw new ValidationError('VALIDATION_FAILED', `${what} must be a non-empty ASCII URI, got ${JSON.stringify(url)}`, { detail: { field: what } });
  return utf8(url);
}

function extension(oidText: string, critical: boolean, value: Der): Der {
  return tlv(0x30, oid(oidText), ...(critical ? [raw([0x01, 0x01, 0xff])] : []), tlv(0x04, value));
}

/** Builds the device definition of one date variant. */
export function deviceCertDef(opts: DeviceDefOptions, variant: DateVariant): CertDef {
  const { product, validityYears } = opts;
  if (!Number.isInteger(validityYears) || validityYears < 0 || validityYears > 127) {
    throw new ValidationError('VALIDATION_FAILED', `validityYears must be a whole number 0-127 (the compressed format's range), got ${validityYears}`, { detail: { field: 'validityYears' } });
  }
  const chars = [...product].length;
  if (chars < 1 || chars > 64 || /[\u0000-\u001f\u007f-\u009f]/.test(product)) {
    throw new ValidationError('VALIDATION_FAILED', `product must be 1-64 printable characters, got ${JSON.stringify(product)}`, { detail: { field: 'product' } });
  }
  if (validityYears === 0 && variant === 'utc-utc') throw new ValidationError('VALIDATION_FAILED', 'validity 0 ends 99991231235959Z, which needs GeneralizedTime', { detail: { field: 'validityYears' } });
  const ca = readCertFields(opts.issuingCaDer);
  const caSki = subjectKeyId(opts.issuingCaDer, ca);
  if (!caSki) throw new ValidationError('VALIDATION_FAILED', 'issuing CA certificate has no subjectKeyIdentifier to use as authorityKeyIdentifier');

  const nbTag = variant === 'gen-gen' ? 0x18 : 0x17;
  const naTag = variant === 'utc-utc' ? 0x17 : 0x18;
  const placeholderDate = (tag: number): Uint8Array => utf8(tag === 0x17 ? '000101000000Z' : '20000101000000Z');
  const extensions: Der[] = [
    // RFC 5280 §4.2.1.3: keyUsage, critical, digitalSignature only (bit 0: BIT STRING 07 80).
    extension('2.5.29.15', true, raw([0x03, 0x02, 0x07, 0x80])),
    // RFC 5280 §4.2.1.12: id-kp-clientAuth, non-critical.
    extension('2.5.29.37', false, tlv(0x30, oid('1.3.6.1.5.5.7.3.2'))),
    // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents.
    extension('2.5.29.14', false, tlv(0x04, marked('subjKeyId', new Uint8Array(20)))),
    // RFC 5280 §4.2.1.1: keyIdentifier [0] = the issuing CA's subjectKeyIdentifier.
    extension('2.5.29.35', false, tlv(0x30, tlv(0x80, raw(caSki)))),
  ];
  // basicConstraints is left out on purpose: RFC 5280 §4.2.1.9 lets end-entity certificates omit
  // it, path validation (§6.1.4 (k)) already refuses any issuer without cA TRUE, and keyUsage has
  // no keyCertSign (§4.2.1.3), so CA:FALSE would add bytes to the template and no protection.
  if (opts.crlUrl !== undefined) {
    // DistributionPoint { distributionPoint [0] { fullName [0] { uniformResourceIdentifier [6] } } } (§4.2.1.13)
    extensions.push(extension('2.5.29.31', false, tlv(0x30, tlv(0x30, tlv(0xa0, tlv(0xa0, tlv(0x86, raw(ia5(opts.crlUrl, 'crlUrl')))))))));
  }
  if (opts.ocspUrl !== undefined) {
    // AccessDescription { id-ad-ocsp, uniformResourceIdentifier [6] } (§4.2.2.1)
    extensions.push(extension('1.3.6.1.5.5.7.1.1', false, tlv(0x30, tlv(0x30, oid('1.3.6.1.5.5.7.48.1'), tlv(0x86, raw(ia5(opts.ocspUrl, 'ocspUrl')))))));
  }

  const sigAlg = tlv(0x30, oid('1.2.840.10045.4.3.2')); // ecdsa-with-SHA256, parameters absent (RFC 5758 §3.2)
  const serial = new Uint8Array(SERIAL_BYTES).fill(0x40);
  const tbs = tlv(
    0x30,
    tlv(0xa0, raw([0x02, 0x01, 0x02])), // v3
    tlv(0x02, marked('certSn', serial)),
    sigAlg,
    raw(opts.issuingCaDer.subarray(ca.subject.start, ca.subject.end)), // issuer = CA subject, byte for byte
    tlv(0x30, tlv(nbTag, marked('issueDate', placeholderDate(nbTag))), tlv(naTag, marked('expireDate', placeholderDate(naTag)))),
    tlv(
      0x30,
      tlv(0x31, tlv(0x30, oid('2.5.4.10'), tlv(0x0c, raw(utf8(product))))),
      tlv(0x31, tlv(0x30, oid('2.5.4.3'), tlv(0x0c, marked('cn', utf8('0'.repeat(18)))))),
    ),
    tlv(
      0x30,
      tlv(0x30, oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')),
      tlv(0x03, raw([0x00, 0x04]), marked('publicKey', new Uint8Array(64))),
    ),
    tlv(0xa3, tlv(0x30, ...extensions)),
  );
  const placeholderSig = encodeEcdsaSigBitString(new Uint8Array(64).fill(0x11));
  const cert = tlv(0x30, tbs, sigAlg, raw(placeholderSig));
  const at = (name: string): { offset: number; count: number } => {
    const m = cert.marks.find((x) => x.name === name);
    if (!m) throw new Error(`internal: mark ${name} missing`);
    return { offset: m.offset, count: m.count };
  };
  const tbsStart = readTlv(cert.bytes, 0).value;
  const tbsLen = tbs.bytes.length;
  const cn = at('cn');
  return {
    name: `device/${variant}`,
    templateId: TemplateId[variant],
    chainId: CHAIN_ID,
    snSource: SnSource.PUB_KEY_HASH,
    issueDateFormat: nbTag === 0x17 ? DateFormat.RFC5280_UTC : DateFormat.RFC5280_GEN,
    expireDateFormat: naTag === 0x17 ? DateFormat.RFC5280_UTC : DateFormat.RFC5280_GEN,
    expireYears: validityYears,
    privateKeySlot: Slot.DEVICE_KEY,
    certSnDevLoc: NO_DEVICE_LOC,
    publicKeyDevLoc: { zone: 'data', slot: Slot.DEVICE_KEY, isGenkey: true, offset: 0, count: 64 },
    compCertDevLoc: { zone: 'data', slot: Slot.DEVICE_CERT, isGenkey: false, offset: 0, count: 72 },
    tbsCertLoc: { offset: tbsStart, count: tbsLen },
    std: {
      publicKey: at('publicKey'),
      signature: { offset: tbsStart + tbsLen + sigAlg.bytes.length, count: placeholderSig.length },
      issueDate: at('issueDate'),
      expireDate: at('expireDate'),
      signerId: NO_CERT_LOC,
      certSn: at('certSn'),
      authKeyId: NO_CERT_LOC, // fixed in the template: one definition per issuing CA
      subjKeyId: at('subjKeyId'),
    },
    // CN = the 9-byte chip serial (config bytes 0-3 and 8-12) as 18 uppercase hex digits.
    elements: [
      { id: 'SN03', deviceLoc: { zone: 'config', slot: 0, isGenkey: false, offset: 0, count: 4 }, certLoc: { offset: cn.offset, count: 8 }, transforms: ['bin2hexUpper'] },
      { id: 'SN48', deviceLoc: { zone: 'config', slot: 0, isGenkey: false, offset: 8, count: 5 }, certLoc: { offset: cn.offset + 8, count: 10 }, transforms: ['bin2hexUpper'] },
    ],
    template: cert.bytes,
  };
}

/** The device definitions a validity needs (utc-utc is impossible for validity 0). */
export function deviceCertDefs(opts: DeviceDefOptions): CertDef[] {
  const variants: DateVariant[] = opts.validityYears === 0 ? ['utc-gen', 'gen-gen'] : ['utc-utc', 'utc-gen', 'gen-gen'];
  return variants.map((v) => deviceCertDef(opts, v));
}

/** Picks the definition a compressed certificate names (template and chain ID, serial source). */
export function selectCertDef(defs: readonly CertDef[], compressed: Uint8Array): CertDef {
  const errors: unknown[] = [];
  for (const def of defs) {
    try {
      checkCompressedHeader(def, compressed);
      return def;
    } catch (err) {
      if (!(err instanceof KeylineError) || err.code !== 'ATCACERT_TEMPLATE_MISMATCH') throw err;
      errors.push(err);
    }
  }
  throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', `no definition among ${defs.map((d) => d.name).join(', ')} matches compressed byte 69 = 0x${(compressed[69] ?? 0).toString(16)}`);
}
