/**
 * The configuration signer: an ECDSA P-256 key labelled `config-signer` in the line token, with a
 * certificate from the issuing CA. Made here at server start when the key is missing (one place,
 * so a dev PKI from an older ceremony works too); the certificate is re-issued at every start,
 * which costs one HSM signature and keeps no extra file to rotate. Signatures are cached per
 * group: a group's document is the same for every device, and ECDSA needs no fresh signature.
 */
import { createPublicKey, verify } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasCode } from '../../common/errors.js';
import { canonicalConfigBytes } from '../../common/protocol/enrollment.js';
import type { KeyStore, Signer } from '../hsm/key-store.js';
import { ecdsaSigValue } from '../../common/der/writer.js';
import { createConfigSignerCert, type Issuer } from '../ca/profiles.js';

/** Signs configuration documents. */
export interface ConfigSigner {
  /** DER of the signer certificate (sent as configSignerCertificate). */
  readonly certificateDer: Uint8Array;
  /** DER ECDSA-Sig-Value over canonicalConfigBytes(config). */
  sign(config: Record<string, unknown>): Promise<Uint8Array>;
}

/** Wraps a Signer and its certificate, caching one signature per distinct document. */
export function configSignerOf(signer: Signer, certificateDer: Uint8Array): ConfigSigner {
  const cache = new Map<string, Promise<Uint8Array>>();
  return {
    certificateDer,
    sign(config) {
      const bytes = canonicalConfigBytes(config);
      const key = Buffer.from(bytes).toString('utf8');
      let sig = cache.get(key);
      if (!sig) {
        sig = signer.sign(bytes).then((raw) => new Uint8Array(ecdsaSigValue(raw)));
        sig.catch(() => cache.delete(key));
        cache.set(key, sig);
      }
      return sig;
    },
  };
}

/** Options of ensureConfigSigner. */
export interface EnsureConfigSignerOptions {
  keyStore: KeyStore;
  tokenLabel: string;
  label: string;
  /** The issuing CA (HSM signer + certificate). */
  issuer: Issuer;
  org: string;
  /**
   * Whether this process may create a missing key (default true). Cluster workers starting
   * together must not all generate one: two keys under one label make the reference ambiguous,
   * so only one creates it and the others wait for it to appear.
   */
  mayGenerate?: boolean;
  /** How long a process that may not generate waits for the key (ms, default 30 s). */
  waitMs?: number;
  /**
   * Runs the look-again-then-generate step alone among every process on the token (replicas
   * starting together: a database lease), so they cannot create two keys under one label.
   */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** Finds (or generates) the config-signer key and issues its certificate. */
export async function ensureConfigSigner(o: EnsureConfigSignerOptions): Promise<ConfigSigner> {
  const ref = `pkcs11:token=${o.tokenLabel};object=${o.label}`;
  let signer: Signer | undefined;
  const deadline = Date.now() + (o.waitMs ?? 30_000);
  while (!signer) {
    try {
      signer = await o.keyStore.getSigner(ref);
    } catch (err) {
      if (!hasCode(err, 'HSM_KEY_NOT_FOUND')) throw err;
      if (o.mayGenerate !== false) {
        const generate = async (): Promise<Signer> => {
          // Another process may have made it while this one waited for its turn.
          try {
            return await o.keyStore.getSigner(ref);
          } catch (again) {
            if (!hasCode(again, 'HSM_KEY_NOT_FOUND')) throw again;
          }
          return o.keyStore.getSigner(await o.keyStore.generateKeyPair({ label: o.label, curve: 'P-256' }));
        };
        signer = await (o.exclusive ? o.exclusive(generate) : generate());
      } else if (Date.now() > deadline) {
        throw err;
      } else {
        await sleep(200);
      }
    }
  }
  const cert = await createConfigSignerCert({ issuer: o.issuer, org: o.org, spki: await signer.publicKeySpki() });
  return configSignerOf(signer, new Uint8Array(cert.rawData));
}

/** True when `signatureDer` is the signer certificate's signature over `config` (what a device checks). */
export function configSignatureValid(config: Record<string, unknown>, signatureDer: Uint8Array, signerSpki: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(signerSpki), format: 'der', type: 'spki' });
  return verify('sha256', canonicalConfigBytes(config), { key, dsaEncoding: 'der' }, signatureDer);
}
