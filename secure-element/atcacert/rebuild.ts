/**
 * Rebuilds the full X.509 certificate from a definition, the chip's public key and the 72-byte
 * compressed certificate (atcacert_set_comp_cert plus atcacert_cert_build_finish), as the device does.
 */
import { createPublicKey, verify } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { type CertDef, COMP_CERT_SIZE } from './cert-def.js';
import { attachSignature, fillTemplate } from './build.js';

/** Inputs of a rebuild. */
export interface RebuildInputs {
  /** Subject public key, raw X‖Y (64 bytes): GenKey's output on the device. */
  publicKey: Uint8Array;
  compressed: Uint8Array;
  /** 9-byte chip serial (config zone), for definitions that copy it into the certificate. */
  chipSerial?: Uint8Array;
  /** When given (raw X‖Y of the signer), the signature is checked over the rebuilt TBS. */
  issuerPublicKey?: Uint8Array;
}

const invalid = (msg: string): never => {
  throw new KeylineError('ATCACERT_INVALID', msg);
};

/** Checks the header bytes 69-71 of a compressed certificate against `def`. */
export function checkCompressedHeader(def: CertDef, comp: Uint8Array): void {
  if (comp.length !== COMP_CERT_SIZE) invalid(`compressed certificate must be ${COMP_CERT_SIZE} bytes, got ${comp.length}`);
  const format = comp[70]! & 0x0f;
  // Format 2 is for keys above P-256 (signature bytes past 72); Keyline's chips are P-256.
  if (format > 1) invalid(`compressed format version ${format} not supported (0 or 1)`);
  if ((comp[71]! & 0x0f) !== 0 || (format === 0 && comp[71] !== 0)) invalid(`compressed byte 71 reserved bits set: 0x${comp[71]!.toString(16)}`);
  const templateId = comp[69]! >> 4;
  const chainId = comp[69]! & 0x0f;
  const snSource = comp[70]! >> 4;
  if (templateId !== def.templateId || chainId !== def.chainId || snSource !== def.snSource) {
    throw new KeylineError(
      'ATCACERT_TEMPLATE_MISMATCH',
      `compressed certificate names template ${templateId} chain ${chainId} serial source 0x${snSource.toString(16)}; definition ${def.name} is template ${def.templateId} chain ${def.chainId} source 0x${def.snSource.toString(16)}`,
    );
  }
}

/** Rebuilds the DER certificate; throws ATCACERT_INVALID or ATCACERT_TEMPLATE_MISMATCH on bad input. */
export function rebuildCertificate(def: CertDef, inputs: RebuildInputs): Uint8Array {
  const comp = inputs.compressed;
  checkCompressedHeader(def, comp);
  const filled = fillTemplate(def, { publicKey: inputs.publicKey, comp, ...(inputs.chipSerial ? { chipSerial: inputs.chipSerial } : {}) });
  // Format 1 only when the dates need it (atcacert_get_comp_cert_ext); another choice would change
  // the hashed serial, so a non-canonical header cannot be the issued certificate.
  const needsV1 = filled.issue.year > 2031 || filled.expireYears > 31;
  if (needsV1 !== ((comp[70]! & 0x0f) === 1)) invalid(`compressed format version ${comp[70]! & 0x0f} does not match its dates`);
  const rawSig = comp.subarray(0, 64);
  if (inputs.issuerPublicKey) {
    const key = createPublicKey({ key: Buffer.from(rawP256ToSpki(inputs.issuerPublicKey)), format: 'der', type: 'spki' });
    if (!verify('sha256', filled.tbs, { key, dsaEncoding: 'ieee-p1363' }, rawSig)) invalid(`signature of ${def.name} certificate does not verify with the issuer key`);
  }
  return attachSignature(def, filled.prefix, rawSig);
}

/** SubjectPublicKeyInfo DER for a raw P-256 X‖Y (RFC 5480 §2). */
export function rawP256ToSpki(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) invalid(`P-256 public key must be 64 bytes X‖Y, got ${raw.length}`);
  const head = Uint8Array.from([
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
    0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
  ]);
  const out = new Uint8Array(head.length + 64);
  out.set(head, 0);
  out.set(raw, head.length);
  return out;
}
