/**
 * Writes the variable elements of a definition into its template (atcacert_cert_build_* and
 * atcacert_set_comp_cert): the same code serves the issuer (fill, then sign the TBS) and the device
 * (fill, then attach the signature from the compressed certificate), so both produce the same bytes.
 */
import { createHash } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { type CertDef, type CertLoc, COMP_CERT_SIZE, DateFormat, type DateFormatCode } from './cert-def.js';
import { type CertDate, dateSize, decodeCompDates, encodeCompDates, expireDate, formatIso, writeDate } from './date.js';
import { derLength } from '../../common/der/writer.js';
import { generateSerial, isGeneratedSerial } from './serial.js';
import { encodeEcdsaSigBitString } from './signature-value.js';

/** The per-certificate inputs of a build. */
export interface BuildInputs {
  /** Subject public key, raw X‖Y (64 bytes). */
  publicKey: Uint8Array;
  /** A compressed certificate carrying at least the dates, signer ID and format (bytes 64-71). */
  comp: Uint8Array;
  /** 9-byte chip serial, for elements copied from the config zone and chip-serial serials. */
  chipSerial?: Uint8Array;
}

/** The result of filling a template: the certificate up to its signature, and where its TBS is. */
export interface FilledCert {
  /** Template bytes before the signatureValue, variable elements written. */
  prefix: Uint8Array;
  tbs: Uint8Array;
  issue: CertDate;
  expire: CertDate;
  expireYears: number;
}

const HEX = '0123456789ABCDEF';

/** Key identifier as atcacert_get_key_id: SHA-1 over 0x04 ‖ X ‖ Y, the subjectPublicKey BIT STRING
 * contents (RFC 5280 §4.2.1.2 method 1). */
export function keyId(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(Uint8Array.of(0x04)).update(publicKey).digest());
}

/** The 13-byte start of the config zone that holds the chip serial (bytes 0-3 and 8-12, datasheet §2.2). */
export function configSerialView(chipSerial: Uint8Array): Uint8Array {
  const view = new Uint8Array(13);
  view.set(chipSerial.subarray(0, 4), 0);
  view.set(chipSerial.subarray(4, 9), 8);
  return view;
}

/**
 * A compressed certificate without its signature (bytes 64-71 set): what the issuer fills a
 * template from before signing, so issuer and device derive dates and serial identically.
 */
export function compressedHeader(def: CertDef, issue: CertDate, expireYears: number, signerId = 0): Uint8Array {
  const comp = new Uint8Array(COMP_CERT_SIZE);
  const enc = encodeCompDates(issue, expireYears);
  comp.set(enc.dates, 64);
  comp[67] = signerId >> 8;
  comp[68] = signerId & 0xff;
  comp[69] = ((def.templateId & 0x0f) << 4) | (def.chainId & 0x0f);
  comp[70] = ((def.snSource & 0x0f) << 4) | enc.formatVersion;
  comp[71] = enc.ext;
  return comp;
}

function put(def: CertDef, out: Uint8Array, loc: CertLoc, data: Uint8Array, what: string): void {
  if (loc.count === 0) return;
  if (data.length !== loc.count || loc.offset + loc.count > out.length) {
    throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', `${def.name}: ${what} of ${data.length} bytes does not fit its location ${loc.offset}+${loc.count}`);
  }
  out.set(data, loc.offset);
}

function putDate(def: CertDef, out: Uint8Array, loc: CertLoc, format: DateFormatCode, d: CertDate, what: string): void {
  if (loc.count === 0) return;
  if (loc.count !== dateSize(format)) throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', `${def.name}: ${what} location is ${loc.count} bytes, format ${format} needs ${dateSize(format)}`);
  if (format === DateFormat.RFC5280_UTC && d.year > 2049) {
    // RFC 5280 §4.1.2.5: 2050 and later need GeneralizedTime, i.e. another template.
    throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', `${def.name}: ${what} ${formatIso(d)} needs GeneralizedTime but the template holds UTCTime`);
  }
  writeDate(format, d, out, loc.offset);
}

/** Fills the template of `def` with the inputs; throws ATCACERT_* codes on anything that cannot fit. */
export function fillTemplate(def: CertDef, inputs: BuildInputs): FilledCert {
  const { publicKey, comp, chipSerial } = inputs;
  if (publicKey.length !== 64) throw new KeylineError('ATCACERT_INVALID', `publicKey must be 64 bytes X‖Y, got ${publicKey.length}`);
  if (chipSerial !== undefined && chipSerial.length !== 9) throw new KeylineError('ATCACERT_INVALID', `chipSerial must be 9 bytes, got ${chipSerial.length}`);
  const prefix = def.template.slice(0, def.std.signature.offset);

  const { issue, expireYears } = decodeCompDates(comp);
  const expire = expireDate(issue, expireYears, def.expireDateFormat);
  putDate(def, prefix, def.std.issueDate, def.issueDateFormat, issue, 'issue date');
  putDate(def, prefix, def.std.expireDate, def.expireDateFormat, expire, 'expire date');

  if (def.std.signerId.count) {
    const id = new Uint8Array(4);
    for (let i = 0; i < 2; i++) {
      id[2 * i] = HEX.charCodeAt(comp[67 + i]! >> 4);
      id[2 * i + 1] = HEX.charCodeAt(comp[67 + i]! & 0x0f);
    }
    put(def, prefix, def.std.signerId, id, 'signer ID');
  }
  put(def, prefix, def.std.publicKey, publicKey, 'public key');
  if (def.std.subjKeyId.count) put(def, prefix, def.std.subjKeyId, keyId(publicKey), 'subject key ID');

  const view = chipSerial ? configSerialView(chipSerial) : undefined;
  for (const el of def.elements) {
    if (el.deviceLoc.zone !== 'config') throw new KeylineError('NOT_SUPPORTED', `${def.name}: element ${el.id} reads zone ${el.deviceLoc.zone}; only config-zone elements are built here`);
    if (!view) throw new KeylineError('ATCACERT_INVALID', `${def.name}: element ${el.id} needs the chip serial`);
    if (el.deviceLoc.offset + el.deviceLoc.count > view.length) throw new KeylineError('NOT_SUPPORTED', `${def.name}: element ${el.id} reads config bytes past the serial number`);
    put(def, prefix, el.certLoc, transform(view.subarray(el.deviceLoc.offset, el.deviceLoc.offset + el.deviceLoc.count), el.transforms), `element ${el.id}`);
  }

  if (isGeneratedSerial(def.snSource) && def.std.certSn.count) {
    const sn = generateSerial(def.snSource, def.std.certSn.count, { publicKey, comp, ...(chipSerial ? { chipSerial } : {}) });
    put(def, prefix, def.std.certSn, sn, 'serial number');
  }
  const tbs = prefix.subarray(def.tbsCertLoc.offset, def.tbsCertLoc.offset + def.tbsCertLoc.count);
  return { prefix, tbs, issue, expire, expireYears };
}

function transform(data: Uint8Array, transforms: readonly string[]): Uint8Array {
  let out = data;
  for (const tf of transforms) {
    if (tf === 'none') continue;
    const alphabet = tf === 'bin2hexUpper' ? HEX : HEX.toLowerCase();
    const hex = new Uint8Array(out.length * 2);
    out.forEach((b, i) => {
      hex[2 * i] = alphabet.charCodeAt(b >> 4);
      hex[2 * i + 1] = alphabet.charCodeAt(b & 0x0f);
    });
    out = hex;
  }
  return out;
}

/**
 * Appends the signatureValue for raw r‖s to a filled prefix and rewrites the outer SEQUENCE length,
 * as atcacert_set_signature does; the length must keep its size (it does for P-256 certificates).
 */
export function attachSignature(def: CertDef, prefix: Uint8Array, rawSig: Uint8Array): Uint8Array {
  const sig = encodeEcdsaSigBitString(rawSig);
  const out = new Uint8Array(prefix.length + sig.length);
  out.set(prefix, 0);
  out.set(sig, prefix.length);
  const lenBytes = def.tbsCertLoc.offset - 1; // tag byte, then the length field up to the TBS
  const body = out.length - 1 - lenBytes;
  const length = derLength(body);
  // Rewritten in place, so the minimal encoding of the new length must have the template's size.
  if (length.length !== lenBytes) throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', `${def.name}: certificate length ${body} no longer fits its ${lenBytes}-byte length field`);
  out.set(length, 1);
  return out;
}
