/**
 * EST bodies are base64 (RFC 7030 §4, as RFC 8951 §3 restates it: base64 whatever the
 * Content-Transfer-Encoding header says, and that header is never required). Requests may wrap
 * lines anywhere; answers are wrapped at 64 characters with LF line ends by default, since common
 * clients read line by line and break on one long line. A label may ask for one line instead:
 * strongSwan's `pki --est` (5.9) decodes with chunk_from_base64, which reads a line break as data.
 */
import { ValidationError } from '../../common/errors.js';

/** Whitespace a client may put between base64 characters (line breaks of any style, spaces, tabs). */
const WHITESPACE = /[\r\n\t ]+/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes a base64 body; INVALID_CSR naming `what` for anything that is not base64 (a character
 * outside the alphabet, padding inside, a length that is not a multiple of 4, nothing at all).
 */
export function decodeBase64Body(body: Uint8Array, what: string): Uint8Array {
  // latin1: every byte maps to one character, so a stray byte is refused below, never misread.
  const text = Buffer.from(body).toString('latin1').replace(WHITESPACE, '');
  if (text.length === 0) throw new ValidationError('INVALID_CSR', `${what}: the body is empty (expected base64 DER)`);
  if (!BASE64.test(text) || text.length % 4 !== 0) {
    throw new ValidationError('INVALID_CSR', `${what}: the body is not base64 (RFC 7030 §4: base64-encoded DER)`, { detail: { length: text.length } });
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** Base64 of `der` in lines of `lineLength` characters (64 by default), each ending in LF; 0 = one line without a line end. */
export function encodeBase64Body(der: Uint8Array, lineLength = 64): Buffer {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  if (lineLength === 0) return Buffer.from(b64, 'latin1');
  return Buffer.from((b64.match(new RegExp(`.{1,${lineLength}}`, 'g')) ?? []).map((l) => `${l}\n`).join(''), 'latin1');
}
