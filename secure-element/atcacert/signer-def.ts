/**
 * The signer (issuing CA) certificate definition, derived from the certificate itself: the
 * template is that certificate, its serial stays stored in the template (SNSRC_STORED), and only
 * the signature, the dates and the public key (with its key identifier) come from the chip.
 */
import { KeylineError } from '../../common/errors.js';
import { type CertDef, type CertLoc, DateFormat, NO_CERT_LOC, NO_DEVICE_LOC, SnSource } from './cert-def.js';
import { readCertFields, subjectKeyId } from './cert-fields.js';
import { compressCertificate } from './compress.js';
import { compareDates, maxDate, readDate } from './date.js';
import { keyId } from './build.js';
import { readTlv, type Tlv } from '../../common/der/reader.js';
import { Slot } from '../slot-map.js';
import { CHAIN_ID, TemplateId } from './device-defs.js';

const ECDSA_WITH_SHA256 = '06082a8648ce3d040302';

const mismatch = (msg: string, cause?: unknown): never => {
  throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', `signer certificate cannot be compressed bit-exactly: ${msg}`, cause === undefined ? {} : { cause });
};

/** Derives the signer definition from the issuing CA certificate and proves it by one round trip. */
export function signerCertDef(issuingCaDer: Uint8Array): CertDef {
  const der = Uint8Array.from(issuingCaDer);
  const f = readCertFields(der);
  const sigAlg = readTlv(der, f.tbs.end);
  if (Buffer.from(der.subarray(sigAlg.value, sigAlg.end)).toString('hex') !== ECDSA_WITH_SHA256) mismatch('signature algorithm is not ecdsa-with-SHA256');
  if (f.publicKeyOffset < 0) mismatch('subject key is not an uncompressed P-256 point');
  const publicKey = der.subarray(f.publicKeyOffset, f.publicKeyOffset + 64);

  const formatOf = (tag: number): typeof DateFormat.RFC5280_UTC | typeof DateFormat.RFC5280_GEN =>
    tag === 0x17 ? DateFormat.RFC5280_UTC : tag === 0x18 ? DateFormat.RFC5280_GEN : mismatch(`time tag 0x${tag.toString(16)}`);
  const issueDateFormat = formatOf(f.notBefore.tag);
  const expireDateFormat = formatOf(f.notAfter.tag);
  const issue = readDate(issueDateFormat, der, f.notBefore.value);
  const expire = readDate(expireDateFormat, der, f.notAfter.value);
  const expireYears = compareDates(expire, maxDate(expireDateFormat)) === 0 ? 0 : expire.year - issue.year;

  // The SKI is an element only when it is the method-1 key ID atcacert computes; otherwise it stays in the template.
  const ski = subjectKeyId(der, f);
  let subjKeyId: CertLoc = NO_CERT_LOC;
  if (ski && Buffer.from(ski).equals(keyId(publicKey))) {
    const ext = f.extensions.get('2.5.29.14')!;
    subjKeyId = { offset: readTlv(der, ext.value.value).value, count: 20 };
  }
  const loc = (t: Tlv): CertLoc => ({ offset: t.value, count: t.end - t.value });
  const def: CertDef = {
    name: 'signer',
    templateId: TemplateId.signer,
    chainId: CHAIN_ID,
    snSource: SnSource.STORED,
    issueDateFormat,
    expireDateFormat,
    expireYears: Math.max(0, Math.min(expireYears, 127)),
    privateKeySlot: 0,
    certSnDevLoc: NO_DEVICE_LOC,
    publicKeyDevLoc: { zone: 'data', slot: Slot.SIGNER_PUBLIC_KEY, isGenkey: false, offset: 0, count: 72 },
    compCertDevLoc: { zone: 'data', slot: Slot.SIGNER_CERT, isGenkey: false, offset: 0, count: 72 },
    tbsCertLoc: { offset: f.tbs.start, count: f.tbs.end - f.tbs.start },
    std: {
      publicKey: { offset: f.publicKeyOffset, count: 64 },
      signature: { offset: f.signatureValue.start, count: f.signatureValue.end - f.signatureValue.start },
      issueDate: loc(f.notBefore),
      expireDate: loc(f.notAfter),
      signerId: NO_CERT_LOC,
      certSn: NO_CERT_LOC, // stored in the template
      authKeyId: NO_CERT_LOC,
      subjKeyId,
    },
    elements: [],
    template: der,
  };
  try {
    compressCertificate(def, der);
  } catch (err) {
    if (err instanceof KeylineError && err.code.startsWith('ATCACERT_')) mismatch(err.message, err);
    throw err;
  }
  return def;
}
