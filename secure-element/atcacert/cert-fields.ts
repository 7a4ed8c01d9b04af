/**
 * Locates the fields of an X.509 certificate (RFC 5280 §4.1) by walking its DER, keeping offsets:
 * what a definition needs to point at elements of an existing certificate, and what the device
 * template copies from the issuing CA (its subject and key identifier) byte for byte.
 */
import { KeylineError } from '../../common/errors.js';
import { childrenOf, oidText, readTlv, type Tlv } from '../../common/der/reader.js';

/** The located fields of a certificate. */
export interface CertFields {
  cert: Tlv;
  tbs: Tlv;
  serial: Tlv;
  issuer: Tlv;
  notBefore: Tlv;
  notAfter: Tlv;
  subject: Tlv;
  spki: Tlv;
  /** Offset of X in the uncompressed point (after 0x04); -1 unless the key is a P-256 point. */
  publicKeyOffset: number;
  /** Each extension by dotted OID: the extnValue OCTET STRING and the critical flag. */
  extensions: Map<string, { value: Tlv; critical: boolean }>;
  signatureValue: Tlv;
}

const ID_EC_PUBLIC_KEY = '2a8648ce3d0201';
const PRIME256V1 = '2a8648ce3d030107';

/** Walks `der` as a Certificate; throws MALFORMED_DER if it is not one. */
export function readCertFields(der: Uint8Array): CertFields {
  try {
    const cert = readTlv(der, 0);
    if (cert.tag !== 0x30 || cert.end !== der.length) throw new Error('not one SEQUENCE');
    const [tbs, , signatureValue] = childrenOf(der, cert);
    if (!tbs || !signatureValue || tbs.tag !== 0x30 || signatureValue.tag !== 0x03) throw new Error('no TBSCertificate/signatureValue');
    const f = childrenOf(der, tbs);
    const v3 = f[0]?.tag === 0xa0 ? 1 : 0;
    const [serial, , issuer, validity, subject, spki] = f.slice(v3, v3 + 6);
    if (!serial || !issuer || !validity || !subject || !spki) throw new Error('TBSCertificate too short');
    const [notBefore, notAfter] = childrenOf(der, validity);
    if (!notBefore || !notAfter) throw new Error('validity incomplete');
    const [alg, key] = childrenOf(der, spki);
    let publicKeyOffset = -1;
    if (alg && key) {
      const algIds = childrenOf(der, alg).map((t) => hex(der.subarray(t.value, t.end)));
      if (algIds[0] === ID_EC_PUBLIC_KEY && algIds[1] === PRIME256V1 && key.end - key.value === 66 && der[key.value + 1] === 0x04) {
        publicKeyOffset = key.value + 2;
      }
    }
    const extensions = new Map<string, { value: Tlv; critical: boolean }>();
    const extWrap = f.find((t) => t.tag === 0xa3);
    if (extWrap) {
      const [seq] = childrenOf(der, extWrap);
      for (const ext of seq ? childrenOf(der, seq) : []) {
        const parts = childrenOf(der, ext);
        const critical = parts.length === 3 && der[parts[1]!.value] === 0xff;
        extensions.set(oidText(der, parts[0]!), { value: parts[parts.length - 1]!, critical });
      }
    }
    return { cert, tbs, serial, issuer, notBefore, notAfter, subject, spki, publicKeyOffset, extensions, signatureValue };
  } catch (err) {
    if (err instanceof KeylineError && err.code !== 'MALFORMED_DER') throw err;
    throw new KeylineError('MALFORMED_DER', `not an X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
}

/** The subjectKeyIdentifier value (the inner OCTET STRING's content), if present. */
export function subjectKeyId(der: Uint8Array, fields: CertFields): Uint8Array | undefined {
  const ext = fields.extensions.get('2.5.29.14');
  if (!ext) return undefined;
  const inner = readTlv(der, ext.value.value, ext.value.end);
  return inner.tag === 0x04 ? der.slice(inner.value, inner.end) : undefined;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
