/**
 * Target `public-key`: server/services/public-key.ts `parsePublicKey` (the station's `publicKey`
 * field: raw hex or base64 SPKI) and `spkiToRaw` (SPKI DER). An answer must be 64 bytes that
 * node:crypto accepts as a P-256 point, and an accepted SPKI must be the one DER encoding of that
 * key (no trailing bytes, no BER lengths); a refusal must be one of the four key codes.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { parsePublicKey, spkiToRaw } from '../../server/services/public-key.js';
import { rawP256ToSpki } from '../../secure-element/atcacert/rebuild.js';
import { ensure, expectTypedError, type FuzzTarget } from '../harness.js';
import { hostileDer, mutatedBytes } from '../mutate-bytes.js';

const KEY_CODES = ['INVALID_PUBLIC_KEY', 'POINT_NOT_ON_CURVE', 'UNSUPPORTED_CURVE', 'MALFORMED_DER'] as const;

type Input = { kind: 'text'; text: string } | { kind: 'der'; der: Uint8Array };

/** SPKI DER samples: P-256 keys (the accepted kind) and the refused kinds next to them. */
export function spkiSamples(): Uint8Array[] {
  const der = (k: { publicKey: { export(o: { type: 'spki'; format: 'der' }): Buffer } }) => new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' }));
  const p256 = [1, 2, 3].map(() => der(generateKeyPairSync('ec', { namedCurve: 'prime256v1' })));
  return [
    ...p256,
    der(generateKeyPairSync('ec', { namedCurve: 'secp384r1' })),
    der(generateKeyPairSync('ec', { namedCurve: 'secp256k1' })),
    der(generateKeyPairSync('ed25519')),
  ];
}

/** Text the `publicKey` field may carry: hex forms of real keys mutated, base64 of hostile DER, noise. */
export function publicKeyText(samples: readonly Uint8Array[]): fc.Arbitrary<string> {
  const hexes = samples.slice(0, 3).map((s) => Buffer.from(s.subarray(-64)).toString('hex'));
  const hexChar = fc.constantFrom(...'0123456789abcdefABCDEFg \n+/='.split(''));
  const mutatedHex = fc.tuple(fc.constantFrom(...hexes), fc.boolean(), fc.nat(), hexChar, fc.integer({ min: -3, max: 3 }))
    .map(([h, prefixed, at, c, grow]) => {
      let s = (prefixed ? '04' : '') + h;
      s = s.slice(0, at % s.length) + c + s.slice((at % s.length) + 1);
      return grow >= 0 ? s + 'a'.repeat(grow) : s.slice(0, grow);
    });
  return fc.oneof(
    { weight: 3, arbitrary: mutatedHex },
    { weight: 1, arbitrary: fc.constantFrom(...hexes).map((h) => `  ${h.toUpperCase()}\n`) },
    { weight: 4, arbitrary: hostileDer(samples).map((d) => Buffer.from(d).toString('base64')) },
    { weight: 1, arbitrary: mutatedBytes(samples).map((d) => Buffer.from(d).toString('base64url')) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-fA-F]{120,140}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9+/]{0,200}={0,3}$/) },
  );
}

/** Judges one parse: 64 on-curve bytes, or a key refusal. */
function judge(parse: () => Uint8Array, where: string, der?: Uint8Array): void {
  let xy: Uint8Array;
  try {
    xy = parse();
  } catch (err) {
    expectTypedError(err, where, KEY_CODES);
    return;
  }
  ensure(xy instanceof Uint8Array && xy.length === 64, `${where}: answer is not 64 bytes`);
  // An independent oracle: OpenSSL's point decoding refuses off-curve points.
  const spki = rawP256ToSpki(xy);
  try {
    createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (err) {
    ensure(false, `${where}: accepted a point OpenSSL refuses (${(err as Error).message})`);
  }
  if (der) ensure(Buffer.from(der).equals(Buffer.from(spki)), () => `${where}: accepted a non-canonical SPKI (${der.length} bytes, canonical is ${spki.length}): ${Buffer.from(der).toString('hex')}`);
}

/** The target. */
export const publicKeyTarget: FuzzTarget<Input> = {
  name: 'public-key',
  summary: 'parsePublicKey (raw hex / base64 SPKI) and spkiToRaw (SPKI DER): on-curve 64 bytes from canonical DER, or a key refusal code',
  heapBoundBytes: 16 * 1024 * 1024,
  async setup() {
    const samples = spkiSamples();
    return {
      sync: true,
      arbitrary: fc.oneof(
        publicKeyText(samples).map((text): Input => ({ kind: 'text', text })),
        hostileDer(samples).map((der): Input => ({ kind: 'der', der })),
      ),
      check(input) {
        if (input.kind === 'text') {
          // The text path decodes base64 itself; the canonical-DER rule is asserted on the DER path.
          judge(() => parsePublicKey(input.text), 'parsePublicKey');
        } else {
          judge(() => spkiToRaw(input.der), 'spkiToRaw', input.der);
        }
      },
      close() {},
    };
  },
};
