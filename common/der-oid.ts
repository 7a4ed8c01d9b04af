/**
 * The content bytes of a DER OBJECT IDENTIFIER from its dotted form (X.690 §8.19): the one
 * encoder, wrapped in a TLV by the certificate-template and the CRL/OCSP writers alike.
 */
export function oidContent(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return Uint8Array.from(out);
}
