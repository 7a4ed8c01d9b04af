/**
 * Target `csr`: server/services/public-key.ts `parseCsr`, the station's `csr` field (PEM), fed
 * PEM around hostile DER (CSR samples with one field changed, lengths rewritten, truncated,
 * nested), damaged armour (labels, line breaks, two blocks, no footer) and noise. An accepted
 * request must carry a P-256 key OpenSSL accepts and a signature node:crypto verifies over its
 * CertificationRequestInfo with that key (proof of possession); a refusal is one of the CSR and
 * key codes.
 */
import { createPublicKey, verify } from 'node:crypto';
import fc from 'fast-check';
import { parseCsr } from '../../server/services/public-key.js';
import { rawP256ToSpki } from '../../secure-element/atcacert/rebuild.js';
import { csrSamples, pemOf } from '../csr-samples.js';
import { describe, ensure, expectTypedError, FuzzFinding, type FuzzTarget } from '../harness.js';
import { hostileDer, parseDerTree } from '../mutate-bytes.js';

const CSR_CODES = ['INVALID_CSR', 'CSR_SIGNATURE_INVALID', 'MALFORMED_DER', 'UNSUPPORTED_CURVE', 'INVALID_PUBLIC_KEY', 'POINT_NOT_ON_CURVE'] as const;

/** ecdsa-with-SHA256/384/512 (RFC 5758 §3.2) → the hash node:crypto names. */
const ECDSA_HASH: Record<string, string> = { '2a8648ce3d040302': 'sha256', '2a8648ce3d040303': 'sha384', '2a8648ce3d040304': 'sha512' };

type Input = { pem: string; der: Uint8Array | null };

/** PEM text damage: labels, armour lines, line breaks, whitespace, blocks. */
function damagedPem(pem: string, how: number, at: number): string {
  const lines = pem.trimEnd().split('\n');
  switch (how) {
    case 0: return pem.replace('CERTIFICATE REQUEST', 'CERTIFICATE');
    case 1: return pem.replace('-----END CERTIFICATE REQUEST-----', '');
    case 2: return pem + pem;
    case 3: return lines.join('\r\n');
    case 4: return lines.map((l) => ` ${l} `).join('\n');
    case 5: return lines.filter((_, i) => i !== 1 + (at % Math.max(1, lines.length - 2))).join('\n');
    case 6: return `garbage before\n${pem}garbage after`;
    case 7: return pem.replace(/[A-Za-z0-9+/]{4}\n/, '====\n');
    default: return lines.slice(1, -1).join('');
  }
}

/** The target. */
export const csrTarget: FuzzTarget<Input> = {
  name: 'csr',
  summary: 'parseCsr (PEM): hostile DER in PEM, damaged armour, noise; accepted requests carry an on-curve P-256 key and a signature node:crypto verifies',
  heapBoundBytes: 24 * 1024 * 1024,
  async setup() {
    const samples = await csrSamples();
    const ders = samples.map((s) => s.der);
    return {
      arbitrary: fc.oneof(
        { weight: 6, arbitrary: hostileDer(ders).map((der): Input => ({ pem: pemOf(der), der })) },
        { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...samples), fc.nat(8), fc.nat()).map(([s, how, at]): Input => ({ pem: damagedPem(s.pem, how, at), der: null })) },
        { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom(...ders).map((d) => Buffer.from(d).toString('base64'))).map((pem): Input => ({ pem, der: null })) },
      ),
      async check(input) {
        let parsed: Awaited<ReturnType<typeof parseCsr>>;
        try {
          parsed = await parseCsr(input.pem);
        } catch (err) {
          expectTypedError(err, 'parseCsr', CSR_CODES);
          return err.code;
        }
        ensure(parsed.publicKey.length === 64, 'parseCsr key is not 64 bytes');
        const key = createPublicKey({ key: Buffer.from(rawP256ToSpki(parsed.publicKey)), format: 'der', type: 'spki' });
        if (input.der) judgeSignature(input.der, key);
        return 'accepted';
      },
      close() {},
    };
  },
};

/** Verifies the request's self-signature with node:crypto, independently of @peculiar/x509. */
function judgeSignature(der: Uint8Array, key: ReturnType<typeof createPublicKey>): void {
  let tree;
  try {
    tree = parseDerTree(der);
  } catch {
    return; // BER the parser took: no DER view to check against (the signature was still verified)
  }
  const [info, alg, sig] = tree.children ?? [];
  const oid = alg?.children?.[0]?.value;
  const hash = oid && ECDSA_HASH[Buffer.from(oid).toString('hex')];
  if (!info || !hash || !sig?.value || sig.value[0] !== 0) throw new FuzzFinding(`parseCsr accepted a request without a usable ECDSA signature: ${Buffer.from(der).toString('hex')}`);
  let ok: boolean;
  try {
    ok = verify(hash, firstChildBytes(der), key, Buffer.from(sig.value.subarray(1)));
  } catch (err) {
    throw new FuzzFinding(`parseCsr accepted a signature node:crypto cannot read (${describe(err)}): ${Buffer.from(der).toString('hex')}`);
  }
  ensure(ok, () => `parseCsr accepted a request whose signature does not verify: ${Buffer.from(der).toString('hex')}`);
}

/** The exact bytes of the first element inside the outer SEQUENCE (the signed CertificationRequestInfo). */
function firstChildBytes(der: Uint8Array): Uint8Array {
  const header = (at: number): { value: number; end: number } => {
    let len = der[at + 1]!;
    let v = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[v + i]!;
      v += n;
    }
    return { value: v, end: v + len };
  };
  const start = header(0).value;
  return der.subarray(start, header(start).end);
}
