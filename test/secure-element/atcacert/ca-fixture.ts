/**
 * A throw-away root and issuing CA built with @peculiar/x509 following the signer profile the key
 * ceremony uses (serial 16 bytes with first byte (b & 0x7f) | 0x40, notBefore on the hour, notAfter
 * 20 whole years later, CA extensions), plus the issuing key as a soft `Signer`.
 */
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '../../../common/x509.js';
import { createSoftSigner, type SoftSigner } from '../../helpers/soft-signer.js';

/** The fixture PKI. */
export interface TestPki {
  rootDer: Uint8Array;
  rootPem: string;
  issuingDer: Uint8Array;
  issuingPem: string;
  signer: SoftSigner;
}

const crypto = webcrypto as unknown as Crypto;
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A profile serial: 16 random bytes, positive with a fixed length. */
export function profileSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b.toString('hex');
}

/** Builds root and issuing CA; `notBefore` should be on the hour for a compressible signer. */
export async function makeTestPki(opts: { notBefore?: Date; notAfter?: Date; years?: number; issuingSubject?: string; issuingSpki?: Uint8Array } = {}): Promise<TestPki> {
  const nb = opts.notBefore ?? new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  const na = opts.notAfter ?? new Date(nb);
  if (!opts.notAfter) na.setUTCFullYear(na.getUTCFullYear() + (opts.years ?? 20));
  const rootKeys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: profileSerial(),
      name: 'CN=Keyline Test Root CA, O=Keyline Test',
      notBefore: nb,
      notAfter: na,
      keys: rootKeys,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const issuingKeys: { publicKey: CryptoKey; privateKey?: CryptoKey } = opts.issuingSpki
    ? { publicKey: await crypto.subtle.importKey('spki', Buffer.from(opts.issuingSpki), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']) }
    : ((await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair);
  const issuing = await x509.X509CertificateGenerator.create(
    {
      serialNumber: profileSerial(),
      subject: opts.issuingSubject ?? 'CN=Keyline Test Issuing CA 01, O=Keyline Test',
      issuer: root.subject,
      notBefore: nb,
      notAfter: na,
      publicKey: issuingKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(issuingKeys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  // With an external issuing key (a SoftHSM token) the soft signer is unrelated to the certificate.
  const signer = createSoftSigner(issuingKeys.privateKey ? KeyObject.from(issuingKeys.privateKey as unknown as webcrypto.CryptoKey) : undefined, 'soft:issuing');
  return {
    rootDer: new Uint8Array(root.rawData),
    rootPem: root.toString('pem'),
    issuingDer: new Uint8Array(issuing.rawData),
    issuingPem: issuing.toString('pem'),
    signer,
  };
}

/** PEM text of a DER certificate. */
export function toPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}
