/**
 * The csrattrs answer (RFC 7030 §4.5.2): CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID, where
 * AttrOrOID is an OID (a field the CSR must carry) or an Attribute (a value to use). A label's
 * profile asks for what issuance needs: a P-256 key, ECDSA with SHA-256, the chip serial in the
 * subject, and the tls-unique value in challengePassword when it requires proof-of-possession
 * linking (§3.5).
 */
import { oid, seq, tlv } from '../../common/der/writer.js';

/** OIDs the profile names (RFC 5480 §2.1.1, RFC 5758 §3.2, X.520, PKCS #9). */
export const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  secp256r1: '1.2.840.10045.3.1.7',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  serialNumber: '2.5.4.5',
  commonName: '2.5.4.3',
  challengePassword: '1.2.840.113549.1.9.7',
} as const;

/** What a label's csrattrs answer says. */
export interface CsrAttrsProfile {
  /** The tls-unique value must be in challengePassword. */
  popLinking: boolean;
}

/** CsrAttrs DER for a profile. */
export function csrAttrsDer(p: CsrAttrsProfile): Buffer {
  return seq(
    ...(p.popLinking ? [oid(OID.challengePassword)] : []),
    // Attribute { id-ecPublicKey, SET { secp256r1 } }: the key's curve (RFC 7030 §4.5.2's example).
    seq(oid(OID.ecPublicKey), tlv(0x31, oid(OID.secp256r1))),
    oid(OID.serialNumber),
    oid(OID.ecdsaWithSha256),
  );
}
