/**
 * The refusals at server start-up (pitfall guards): the issuing key must live in a PKCS#11 token,
 * the line token must not hold a self-signed CA's key, the issuing key must be sensitive,
 * non-extractable and sign-only, the issuing certificate must match its key, and the chain must
 * verify to the configured root. Each refusal has its own code.
 */
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { hasCode, KeylineError } from '../../common/errors.js';
import * as x509 from '../../common/x509.js';
import type { KeyCurve, KeyStore, Signer } from '../hsm/key-store.js';
import { CURVES, curveOfSpki } from '../hsm/ec-key-info.js';
import { isSelfSigned, toCert, verifyIssuingCa, type CertInput } from './chain.js';

/** What the guards look at. */
export interface CaStartupInput {
  /** The line token's key store. */
  keyStore: KeyStore;
  /** hsm.issuingKey from config. */
  issuingKeyRef: string;
  rootDer: CertInput;
  issuingDer: CertInput;
  /** Other self-signed certificates whose keys must not be on the line either (e.g. an old root). */
  otherSelfSigned?: CertInput[];
  now?: Date;
}

/** Runs every guard in order and returns the issuing CA signer when all pass. */
export async function checkCaAtStartup(input: CaStartupInput): Promise<{ signer: Signer; root: x509.X509Certificate; issuing: x509.X509Certificate }> {
  const root = toCert(input.rootDer);
  const issuing = toCert(input.issuingDer);
  const signer = await requireHsmKey(input);
  await refuseSelfSignedKeysOnLine(input, [root, ...(input.otherSelfSigned ?? []).map(toCert)]);
  await requireSignOnly(input, signer);
  await requireKeyMatchesCert(signer, issuing);
  verifyIssuingCa(issuing, root, input.now);
  return { signer, root, issuing };
}

/** CA_KEY_NOT_IN_HSM: the reference is not a pkcs11: URI, the store is not a token, or the key is missing. */
async function requireHsmKey(input: CaStartupInput): Promise<Signer> {
  const ref = input.issuingKeyRef;
  if (!/^pkcs11:/i.test(ref)) throw new KeylineError('CA_KEY_NOT_IN_HSM', `hsm.issuingKey: '${ref}' is not a pkcs11: URI; the issuing CA key must live in a PKCS#11 token`);
  if (!input.keyStore.hardware) throw new KeylineError('CA_KEY_NOT_IN_HSM', `hsm.issuingKey: the key store is not an HSM; the issuing CA key must live in a PKCS#11 token`);
  try {
    return await input.keyStore.getSigner(ref);
  } catch (err) {
    if (hasCode(err, 'HSM_KEY_NOT_FOUND')) throw new KeylineError('CA_KEY_NOT_IN_HSM', `hsm.issuingKey: no private key '${ref}' in the token`, { cause: err });
    throw err;
  }
}

/**
 * CA_KEY_USAGE: the issuing key (found by its public key) must be sensitive, never extractable,
 * and able to sign only: a key imported by hand or made by another tool with decrypt, unwrap or
 * derive allowed would serve as an oracle for more than certificates.
 */
async function requireSignOnly(input: CaStartupInput, signer: Signer): Promise<void> {
  const spki = Buffer.from(await signer.publicKeySpki());
  const keys = (await input.keyStore.listPrivateKeys()).filter((k) => k.publicKeySpki && spki.equals(Buffer.from(k.publicKeySpki)));
  for (const k of keys) {
    const u = k.usage;
    const wrong = [!u.sensitive && 'not sensitive', u.extractable && 'extractable', !u.sign && 'cannot sign', u.decrypt && 'may decrypt', u.unwrap && 'may unwrap', u.derive && 'may derive'].filter(Boolean);
    if (wrong.length) {
      throw new KeylineError('CA_KEY_USAGE', `hsm.issuingKey: key '${k.label}' (id ${k.idHex}) is ${wrong.join(', ')}; a CA key must be sensitive, non-extractable and sign-only (regenerate it with keyline ceremony)`, { detail: { label: k.label, id: k.idHex } });
    }
  }
}

/**
 * ROOT_KEY_ON_LINE: any private key on the line token that belongs to a self-signed certificate.
 * Public objects can be deleted or forged, so besides comparing them each key of the same curve
 * signs a random digest that is then checked with the self-signed certificate's key.
 */
async function refuseSelfSignedKeysOnLine(input: CaStartupInput, candidates: x509.X509Certificate[]): Promise<void> {
  const roots = candidates.filter((c) => isSelfSigned(c));
  if (roots.length === 0) return;
  const keys = await input.keyStore.listPrivateKeys();
  for (const root of roots) {
    const rootSpki = new Uint8Array(root.publicKey.rawData);
    const curve = curveOfSpki(rootSpki);
    for (const k of keys) {
      const samePublic = k.publicKeySpki !== undefined && Buffer.from(k.publicKeySpki).equals(Buffer.from(rootSpki));
      const proven = !samePublic && curve !== undefined && k.curve === curve && (await provesKey((d) => k.signDigest(d), rootSpki, curve));
      if (samePublic || proven) {
        throw new KeylineError('ROOT_KEY_ON_LINE', `the line token holds the private key of self-signed CA '${root.subject}' (key label '${k.label}', id ${k.idHex}); root keys belong offline, never on the line token`, { detail: { label: k.label, id: k.idHex } });
      }
    }
  }
}

/** True when `signDigest` produces a signature over a random challenge that verifies with `spki`. */
async function provesKey(signDigest: (d: Uint8Array) => Promise<Uint8Array>, spki: Uint8Array, curve: KeyCurve): Promise<boolean> {
  const challenge = randomBytes(32);
  const hash = CURVES[curve].hash;
  try {
    const sig = await signDigest(createHash(hash).update(challenge).digest());
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    return verify(hash, challenge, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false; // a key that cannot sign cannot act as that CA either
  }
}

/** CA_KEY_MISMATCH: the certificate's public key is not the signer's, or the signer cannot prove it. */
async function requireKeyMatchesCert(signer: Signer, issuing: x509.X509Certificate): Promise<void> {
  const certSpki = new Uint8Array(issuing.publicKey.rawData);
  const keySpki = await signer.publicKeySpki();
  const ok = Buffer.from(certSpki).equals(Buffer.from(keySpki)) && (await provesKey((d) => signer.signDigest(d), certSpki, signer.curve));
  if (!ok) {
    throw new KeylineError('CA_KEY_MISMATCH', `issuing CA certificate '${issuing.subject}' (serial ${issuing.serialNumber}) does not match key '${signer.keyRef}'`, { detail: { serial: issuing.serialNumber, keyRef: signer.keyRef } });
  }
}
