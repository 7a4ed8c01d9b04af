/**
 * A CA's key identifier: the name Keyline gives each issuing CA wherever several live side by
 * side (the CRL rows, activations, `keyline ca status`, the AKI of what it issued). It is the
 * certificate's SKI, or the RFC 5280 §4.2.1.2 method-1 identifier when there is none.
 */
import { readTlv } from '../../common/der/reader.js';
import * as x509 from '../../common/x509.js';
import { readCertFields } from '../../secure-element/atcacert/cert-fields.js';
import { toCert, type CertInput } from './chain.js';
import { keyIdentifier } from './profiles.js';

/** The CA certificate's key identifier, lowercase hex. */
export function caKeyId(c: CertInput): string {
  const cert = toCert(c);
  return (cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? keyIdentifier(new Uint8Array(cert.publicKey.rawData))).toLowerCase();
}

/**
 * The authority key identifier of a DER certificate (which CA key signed it), lowercase hex, or
 * null when it has none. Read with the DER reader, not a full parse: it runs once per issued
 * certificate to pick the chain returned with it.
 */
export function authorityKeyIdOf(der: Uint8Array): string | null {
  let f;
  try {
    f = readCertFields(der);
  } catch {
    return null;
  }
  const ext = f.extensions.get('2.5.29.35');
  if (!ext) return null;
  // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... } (RFC 5280 §4.2.1.1)
  const seq = readTlv(der, ext.value.value, ext.value.end);
  const first = seq.tag === 0x30 && seq.end > seq.value ? readTlv(der, seq.value, seq.end) : undefined;
  return first?.tag === 0x80 ? Buffer.from(der.subarray(first.value, first.end)).toString('hex') : null;
}
