/**
 * PEM armour (RFC 7468) for DER bytes, and back.
 */
import { ValidationError } from './errors.js';

/** Wraps DER in PEM with 64-character lines. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every PEM block of `label` in `text`, as DER. */
export function fromPemAll(text: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
}

/** The single PEM block of `label` in `text`; throws MALFORMED_DER if there is none. */
export function fromPem(text: string, label = 'CERTIFICATE'): Uint8Array {
  const all = fromPemAll(text, label);
  if (all.length === 0) throw new ValidationError('MALFORMED_DER', `no ${label} PEM block found`);
  return all[0]!;
}
