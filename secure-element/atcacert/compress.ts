/**
 * Compresses a certificate built from a definition into Microchip's 72-byte form (after
 * atcacert_get_comp_cert_ext): r‖s, encoded dates, signer ID, template/chain IDs, serial source and
 * format version. The result is checked by rebuilding, so only bit-exact round trips are accepted.
 */
import { KeylineError } from '../../common/errors.js';
import { type CertDef, COMP_CERT_SIZE } from './cert-def.js';
import { type CertDate, compareDates, encodeCompDates, formatIso, maxDate, readDate } from './date.js';
import { readTlv, type Tlv } from '../../common/der/reader.js';
import { decodeEcdsaSigBitString } from './signature-value.js';
import { rebuildCertificate } from './rebuild.js';

const mismatch = (def: CertDef, msg: string): never => {
  throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', `${def.name}: ${msg}`);
};

/**
 * Compresses `der` per `def`; throws ATCACERT_INVALID when `der` is not one DER SEQUENCE and
 * ATCACERT_TEMPLATE_MISMATCH for anything else that keeps rebuilding from giving `der` back exactly.
 */
export function compressCertificate(def: CertDef, der: Uint8Array): Uint8Array {
  let outer: Tlv;
  try {
    outer = readTlv(der, 0);
  } catch (err) {
    throw new KeylineError('ATCACERT_INVALID', `certificate is not DER: ${(err as Error).message}`, { cause: err });
  }
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new KeylineError('ATCACERT_INVALID', 'certificate is not one DER SEQUENCE');
  try {
    return compressAgainst(def, der);
  } catch (err) {
    // Bytes that do not parse at this template's offsets mean the certificate is not of this template.
    if (err instanceof KeylineError && (err.code === 'ATCACERT_INVALID' || err.code === 'MALFORMED_DER')) {
      throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', `${def.name}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

function compressAgainst(def: CertDef, der: Uint8Array): Uint8Array {
  if (der.length <= def.std.signature.offset) mismatch(def, `certificate of ${der.length} bytes is shorter than the template's signature offset`);
  const comp = new Uint8Array(COMP_CERT_SIZE);
  const sigEnd = readTlv(der, def.std.signature.offset).end;
  if (sigEnd !== der.length) mismatch(def, 'signatureValue does not end the certificate');
  comp.set(decodeEcdsaSigBitString(der, def.std.signature.offset), 0);

  // No issue-date element: atcacert's default issue date 2000-01-01 00:00.
  const issue: CertDate = def.std.issueDate.count
    ? readDate(def.issueDateFormat, der, def.std.issueDate.offset)
    : { year: 2000, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  if (issue.minute !== 0 || issue.second !== 0) mismatch(def, `issue date ${formatIso(issue)} is not on the hour`);
  let expireYears = def.expireYears;
  if (def.std.expireDate.count) {
    const expire = readDate(def.expireDateFormat, der, def.std.expireDate.offset);
    if (compareDates(expire, maxDate(def.expireDateFormat)) === 0) {
      expireYears = 0; // the format's max date stands for "no expiration"
    } else {
      expireYears = expire.year - issue.year;
      if (compareDates(expire, { ...issue, year: expire.year }) !== 0 || expireYears < 1) {
        mismatch(def, `expire date ${formatIso(expire)} is not whole years after ${formatIso(issue)}`);
      }
    }
  }
  let enc;
  try {
    enc = encodeCompDates(issue, expireYears);
  } catch (err) {
    throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', `${def.name}: dates cannot be compressed`, { cause: err });
  }
  comp.set(enc.dates, 64);
  if (def.std.signerId.count) comp.set(hexDecode(def, der.subarray(def.std.signerId.offset, def.std.signerId.offset + 4)), 67);
  comp[69] = ((def.templateId & 0x0f) << 4) | (def.chainId & 0x0f);
  comp[70] = ((def.snSource & 0x0f) << 4) | enc.formatVersion;
  comp[71] = enc.ext;

  const pk = def.std.publicKey;
  if (pk.count !== 64) mismatch(def, `public key location holds ${pk.count} bytes, not 64`);
  const publicKey = der.slice(pk.offset, pk.offset + 64);
  const chipSerial = def.elements.length ? extractChipSerial(def, der) : undefined;
  const rebuilt = rebuildCertificate(def, { publicKey, compressed: comp, ...(chipSerial ? { chipSerial } : {}) });
  if (rebuilt.length !== der.length || !rebuilt.every((b, i) => b === der[i])) {
    const at = rebuilt.findIndex((b, i) => b !== der[i]);
    mismatch(def, `certificate differs from its rebuild at offset ${at < 0 ? rebuilt.length : at}`);
  }
  return comp;
}

/** Recovers the chip serial from config-zone elements (inverse of their hex transforms). */
function extractChipSerial(def: CertDef, der: Uint8Array): Uint8Array {
  const view = new Uint8Array(13);
  for (const el of def.elements) {
    const text = der.subarray(el.certLoc.offset, el.certLoc.offset + el.certLoc.count);
    const bytes = el.transforms.some((t) => t !== 'none') ? hexDecode(def, text) : text;
    if (el.deviceLoc.zone !== 'config' || bytes.length !== el.deviceLoc.count) mismatch(def, `element ${el.id} cannot be read back`);
    view.set(bytes, el.deviceLoc.offset);
  }
  return Uint8Array.of(...view.subarray(0, 4), ...view.subarray(8, 13));
}

function hexDecode(def: CertDef, text: Uint8Array): Uint8Array {
  const s = Buffer.from(text).toString('latin1');
  if (!/^(?:[0-9A-Fa-f]{2})*$/.test(s)) mismatch(def, `"${s}" is not hex`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** Compresses `der` with the first of `defs` that represents it bit-exactly (e.g. the date variants of a device). */
export function compressWithAny(defs: readonly CertDef[], der: Uint8Array): { def: CertDef; compressed: Uint8Array } {
  let last: unknown;
  for (const def of defs) {
    try {
      return { def, compressed: compressCertificate(def, der) };
    } catch (err) {
      if (!(err instanceof KeylineError) || !err.code.startsWith('ATCACERT_')) throw err;
      last = err;
    }
  }
  throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', `none of ${defs.map((d) => d.name).join(', ')} represents the certificate`, { cause: last });
}
