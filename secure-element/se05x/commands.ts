/**
 * The C-APDUs of the SE05x applet subset Keyline uses, built byte for byte as NXP's middleware
 * builds them (simw se05x_APDU_impl.h, fsl_sss_se05x_apis.c; reference/se050.md §4 with its
 * observed bytes): which commands go extended (ReadObject, ReadIDList, the attested read), which
 * carry a lone `00` Le (no body), and which go short without Le. One pure function per command,
 * so the codec is tested against the published bytes apart from any transport.
 */
import { buildCommandApdu } from '../../common/se05x/apdu.js';
import { APPLET_AID, CLA, Curve, DigestAlgo, Ins, P1, P2, SigAlgo, Tag } from '../../common/se05x/applet-constants.js';
import { encodePolicy, type PolicyEntry } from '../../common/se05x/policy.js';
import { concatBytes, tlv, tlvU16, tlvU32, tlvU8 } from '../../common/se05x/tlv.js';

const hdr = (ins: number, p1: number, p2: number) => [CLA, ins, p1, p2] as const;
const policyTlv = (p?: readonly PolicyEntry[]) => (p && p.length ? tlv(Tag.POLICY, encodePolicy(p)) : new Uint8Array(0));

/** SELECT the IoT applet: `00 A4 04 00 10 <AID> 00`. */
export const selectApplet = () => buildCommandApdu([0x00, Ins.SELECT, 0x04, 0x00], APPLET_AID, { le: true });
/** GetVersion: `80 04 00 20 00`. */
export const getVersion = () => buildCommandApdu(hdr(Ins.MGMT, P1.DEFAULT, P2.VERSION), undefined, { le: true });
/** GetRandom of `n` bytes. */
export const getRandom = (n: number) => buildCommandApdu(hdr(Ins.MGMT, P1.DEFAULT, P2.RANDOM), tlvU16(Tag.T1, n));
/** GetFreeMemory (01 persistent, 02 transient reset, 03 transient deselect). */
export const getFreeMemory = (type: 1 | 2 | 3 = 1) => buildCommandApdu(hdr(Ins.MGMT, P1.DEFAULT, P2.MEMORY), tlvU8(Tag.T1, type));
/** GetTimestamp: `80 04 00 3D 00`. */
export const getTimestamp = () => buildCommandApdu(hdr(Ins.MGMT, P1.DEFAULT, P2.TIME), undefined, { le: true });
/** CheckObjectExists. */
export const checkObjectExists = (id: number) => buildCommandApdu(hdr(Ins.MGMT, P1.DEFAULT, P2.EXIST), tlvU32(Tag.T1, id));
/** DeleteSecureObject. */
export const deleteSecureObject = (id: number) => buildCommandApdu(hdr(Ins.MGMT, P1.DEFAULT, P2.DELETE_OBJECT), tlvU32(Tag.T1, id));
/** ReadType. */
export const readType = (id: number) => buildCommandApdu(hdr(Ins.READ, P1.DEFAULT, P2.TYPE), tlvU32(Tag.T1, id));
/** ReadSize. */
export const readSize = (id: number) => buildCommandApdu(hdr(Ins.READ, P1.DEFAULT, P2.SIZE), tlvU32(Tag.T1, id));
/** ReadIDList from entry `offset`, `filter` FF = every type (extended, with Le). */
export const readIdList = (offset: number, filter = 0xff) =>
  buildCommandApdu(hdr(Ins.READ, P1.DEFAULT, P2.LIST), concatBytes(tlvU16(Tag.T1, offset), tlvU8(Tag.T2, filter)), { extended: true, le: true });
/** ReadCryptoObjectList: `80 02 10 25 00`. */
export const readCryptoObjectList = () => buildCommandApdu(hdr(Ins.READ, P1.CRYPTO_OBJ, P2.LIST), undefined, { le: true });

/** ReadObject, optionally a window of a binary file (extended, with Le). */
export function readObject(id: number, w: { offset?: number; length?: number } = {}): Uint8Array {
  const body = concatBytes(tlvU32(Tag.T1, id), w.offset !== undefined ? tlvU16(Tag.T2, w.offset) : new Uint8Array(0), w.length !== undefined ? tlvU16(Tag.T3, w.length) : new Uint8Array(0));
  return buildCommandApdu(hdr(Ins.READ, P1.DEFAULT, P2.DEFAULT), body, { extended: true, le: true });
}

/** Attested ReadObject: signed by `attestKeyId` with ECDSA-SHA256 over the read and a 16-byte `freshness`. */
export function readObjectAttested(id: number, attestKeyId: number, freshness: Uint8Array, w: { offset?: number; length?: number } = {}): Uint8Array {
  if (freshness.length !== 16) throw new RangeError(`freshness must be 16 bytes, got ${freshness.length}`);
  const body = concatBytes(
    tlvU32(Tag.T1, id),
    w.offset !== undefined ? tlvU16(Tag.T2, w.offset) : new Uint8Array(0),
    w.length !== undefined ? tlvU16(Tag.T3, w.length) : new Uint8Array(0),
    tlvU32(Tag.T5, attestKeyId),
    tlvU8(Tag.T6, SigAlgo.ECDSA_SHA_256),
    tlv(Tag.T7, freshness),
  );
  return buildCommandApdu(hdr(Ins.READ | Ins.ATTEST, P1.DEFAULT, P2.DEFAULT), body, { extended: true, le: true });
}

/** ReadECCurveList: `80 02 0B 25 00`. */
export const readCurveList = () => buildCommandApdu(hdr(Ins.READ, P1.CURVE, P2.LIST), undefined, { le: true });
/** CreateECCurve. */
export const createCurve = (curve: number = Curve.NIST_P256) => buildCommandApdu(hdr(Ins.WRITE, P1.CURVE, P2.CREATE), tlvU8(Tag.T1, curve));
/** SetECCurveParam (A 01, B 02, G 04, N 08, prime 10). */
export const setCurveParam = (curve: number, param: number, value: Uint8Array) =>
  buildCommandApdu(hdr(Ins.WRITE, P1.CURVE, P2.PARAM), concatBytes(tlvU8(Tag.T1, curve), tlvU8(Tag.T2, param), tlv(Tag.T3, value)));
/** GetECCurveId of a key. */
export const getCurveId = (id: number) => buildCommandApdu(hdr(Ins.READ, P1.CURVE, P2.ID), tlvU32(Tag.T1, id));

/** WriteECKey generating a P-256 pair inside the chip: `80 01 61 00 [11 policy] 41 04 id 42 01 03`. */
export const generateEcKey = (id: number, policy?: readonly PolicyEntry[], curve: number = Curve.NIST_P256) =>
  buildCommandApdu(hdr(Ins.WRITE, P1.PAIR | P1.EC, P2.DEFAULT), concatBytes(policyTlv(policy), tlvU32(Tag.T1, id), tlvU8(Tag.T2, curve)));

/** WriteECKey importing a pair (`d` and 04‖X‖Y) or, without `d`, a public key. */
export function importEcKey(id: number, key: { d?: Uint8Array; pub: Uint8Array }, policy?: readonly PolicyEntry[], curve: number = Curve.NIST_P256): Uint8Array {
  const p1 = (key.d ? P1.PAIR : P1.PUBLIC) | P1.EC;
  const body = concatBytes(policyTlv(policy), tlvU32(Tag.T1, id), tlvU8(Tag.T2, curve), key.d ? tlv(Tag.T3, key.d) : new Uint8Array(0), tlv(Tag.T4, key.pub));
  return buildCommandApdu(hdr(Ins.WRITE, p1, P2.DEFAULT), body);
}

/** WriteBinary: a creating write carries `size` (and the policy); later chunks carry `offset`. */
export function writeBinary(id: number, data: Uint8Array, o: { offset?: number; size?: number; policy?: readonly PolicyEntry[] } = {}): Uint8Array {
  const body = concatBytes(
    policyTlv(o.policy),
    tlvU32(Tag.T1, id),
    o.offset ? tlvU16(Tag.T2, o.offset) : new Uint8Array(0),
    o.size !== undefined ? tlvU16(Tag.T3, o.size) : new Uint8Array(0),
    tlv(Tag.T4, data),
  );
  return buildCommandApdu(hdr(Ins.WRITE, P1.BINARY, P2.DEFAULT), body);
}

/** Counter create (`size` 1-8 bytes, value 0). */
export const createCounter = (id: number, size: number, policy?: readonly PolicyEntry[]) =>
  buildCommandApdu(hdr(Ins.WRITE, P1.COUNTER, P2.DEFAULT), concatBytes(policyTlv(policy), tlvU32(Tag.T1, id), tlvU16(Tag.T2, size)));
/** Counter increment by one. */
export const incrementCounter = (id: number) => buildCommandApdu(hdr(Ins.WRITE, P1.COUNTER, P2.DEFAULT), tlvU32(Tag.T1, id));
/** Counter set to `value` (`size` bytes, big-endian; not below the current value). */
export const setCounter = (id: number, value: Uint8Array) => buildCommandApdu(hdr(Ins.WRITE, P1.COUNTER, P2.DEFAULT), concatBytes(tlvU32(Tag.T1, id), tlv(Tag.T3, value)));

/** ECDSASign of a SHA-256 digest: `80 03 0C 09 2B 41 04 id 42 01 21 43 20 <digest>`. */
export const ecdsaSign = (id: number, digest: Uint8Array) =>
  buildCommandApdu(hdr(Ins.CRYPTO, P1.SIGNATURE, P2.SIGN), concatBytes(tlvU32(Tag.T1, id), tlvU8(Tag.T2, SigAlgo.ECDSA_SHA_256), tlv(Tag.T3, digest)));
/** ECDSAVerify of a DER signature over a SHA-256 digest. */
export const ecdsaVerify = (id: number, digest: Uint8Array, derSignature: Uint8Array) =>
  buildCommandApdu(hdr(Ins.CRYPTO, P1.SIGNATURE, P2.VERIFY), concatBytes(tlvU32(Tag.T1, id), tlvU8(Tag.T2, SigAlgo.ECDSA_SHA_256), tlv(Tag.T3, digest), tlv(Tag.T5, derSignature)));
/** DigestOneShot SHA-256. */
export const digestOneShot = (data: Uint8Array, algo: number = DigestAlgo.SHA256) =>
  buildCommandApdu(hdr(Ins.CRYPTO, P1.DEFAULT, P2.ONESHOT), concatBytes(tlvU8(Tag.T1, algo), tlv(Tag.T2, data)));
