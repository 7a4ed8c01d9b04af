/**
 * Decodes the OCSP GET form's path segment: the URL-encoded base64 of the DER request (RFC 6960
 * Appendix A.1, RFC 5019 §5). Strict, because Node's Buffer.from(s, 'base64') silently skips
 * characters outside the alphabet and accepts missing padding: '%XX' escapes and the raw
 * characters A-Z a-z 0-9 + / = only, a length that is a multiple of 4, '=' only as the final
 * padding, and zero pad bits (RFC 4648 §3.5), so each request has one accepted spelling besides
 * its %-escapes. Anything else yields null (answered as malformedRequest).
 */

/** Longest encoded segment accepted: a one-CertID SHA-512 request with a nonce is ~340 base64 characters, ~1,000 fully %-escaped. */
export const MAX_OCSP_GET_SEGMENT = 1536;

const BASE64 = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The DER request in `segment` (the path after the responder's prefix), or null when not strictly encoded. */
export function decodeOcspGetSegment(segment: string): Buffer | null {
  if (segment.length === 0 || segment.length > MAX_OCSP_GET_SEGMENT) return null;
  let text = '';
  for (let i = 0; i < segment.length; i++) {
    let ch = segment[i]!;
    if (ch === '%') {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      ch = String.fromCharCode(parseInt(hex, 16));
      i += 2;
    }
    text += ch;
  }
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  const der = Buffer.from(text, 'base64');
  // Non-zero pad bits decode to the same bytes as the zero ones: refuse all but the canonical form.
  return der.toString('base64') === text ? der : null;
}
