/**
 * Adapts a Signer to the `crypto` argument of @peculiar/x509's generators (certificates, CSRs,
 * CRLs): only `subtle.sign` and `subtle.exportKey('spki')` exist, so the CA code can never reach
 * for a software key by accident, and nothing global (`cryptoProvider.set`) is touched.
 */
import { createHash } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import type { Signer } from '../hsm/key-store.js';

/** The `crypto` object and the key pair handles to pass to x509's generators. */
export interface SignerCrypto {
  crypto: Crypto;
  keys: { publicKey: CryptoKey; privateKey: CryptoKey };
  /** ECDSA with the curve's hash, as x509's `signingAlgorithm`. */
  signingAlgorithm: EcdsaParams;
}

const HASH_OF_CURVE = { 'P-256': 'SHA-256', 'P-384': 'SHA-384' } as const;

/** Wraps `signer` so x509's generators sign through it (e.g. through PKCS#11). */
export function signerCrypto(signer: Signer): SignerCrypto {
  const algorithm = { name: 'ECDSA', namedCurve: signer.curve };
  const privateKey = { type: 'private', algorithm, extractable: false, usages: ['sign'] } as unknown as CryptoKey;
  const publicKey = { type: 'public', algorithm, extractable: true, usages: ['verify'] } as unknown as CryptoKey;
  const subtle = {
    async sign(alg: AlgorithmIdentifier | EcdsaParams, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer> {
      if (key !== privateKey) throw new KeylineError('INTERNAL', 'signer-crypto: sign called with a key this adapter did not issue');
      const name = typeof alg === 'string' ? alg : alg.name;
      const hash = typeof alg === 'object' && 'hash' in alg ? (typeof alg.hash === 'string' ? alg.hash : alg.hash.name) : undefined;
      if (name.toUpperCase() !== 'ECDSA') throw new KeylineError('NOT_SUPPORTED', `signer-crypto: algorithm '${name}' is not ECDSA`);
      const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
      // The hash is the curve's (RFC 5758 §3.2 pairs SHA-256 with P-256, SHA-384 with P-384); anything else is hashed here.
      const sig = hash === undefined || hash.toUpperCase() === HASH_OF_CURVE[signer.curve]
        ? await signer.sign(bytes)
        : await signer.signDigest(createHash(hash.replace('-', '').toLowerCase()).update(bytes).digest());
      return sig.slice().buffer;
    },
    async exportKey(format: string, key: CryptoKey): Promise<ArrayBuffer> {
      if (format !== 'spki' || key !== publicKey) throw new KeylineError('NOT_SUPPORTED', `signer-crypto: exportKey('${format}') is not available`);
      return (await signer.publicKeySpki()).slice().buffer;
    },
  };
  return {
    crypto: { subtle } as unknown as Crypto,
    keys: { publicKey, privateKey },
    signingAlgorithm: { name: 'ECDSA', hash: HASH_OF_CURVE[signer.curve] },
  };
}
