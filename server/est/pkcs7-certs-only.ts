/**
 * The "certs-only" answer of EST (RFC 7030 §4.1.3, §4.2.3): a degenerate CMS SignedData (RFC 5652
 * §5, as RFC 5272 §4.2's Simple PKI Response): version 1, no digest algorithms, id-data content
 * without eContent, the certificates, no signers. `openssl pkcs7 -print_certs` reads it.
 */
import { oid, seq, tlv, tlvOf } from '../../common/der/writer.js';

/** id-signedData (RFC 5652 §5.1). */
const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
/** id-data (RFC 5652 §4). */
const ID_DATA = '1.2.840.113549.1.7.1';

/** ContentInfo { id-signedData, [0] SignedData } holding `certs` (DER certificates, in order). */
export function certsOnly(certs: readonly Uint8Array[]): Buffer {
  const signedData = seq(
    tlv(0x02, Uint8Array.of(1)), // CMSVersion 1: no attribute certificates, id-data content (§5.1)
    tlv(0x31), // digestAlgorithms: empty SET
    seq(oid(ID_DATA)), // encapContentInfo: id-data, eContent absent
    tlvOf(0xa0, certs), // certificates [0] IMPLICIT CertificateSet
    tlv(0x31), // signerInfos: empty SET
  );
  return seq(oid(ID_SIGNED_DATA), tlv(0xa0, signedData));
}
