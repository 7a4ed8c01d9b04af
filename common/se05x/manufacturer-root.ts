/**
 * The per-installation SE050 "manufacturer root": in production NXP's attestation root, in
 * development a root the dev ceremony makes (and the emulator uses to certify each emulated
 * chip's attestation key, as NXP's factory does for real parts). Two files in one folder:
 * `se050-manufacturer-root.pem` (the certificate, public, what a server trusts) and
 * `se050-manufacturer-root.key.pem` (PKCS#8, development-only material like the SoftHSM tokens,
 * read only by the emulator). Both the ceremony (server/) and the emulator import this file,
 * which is why it sits in common/.
 */
import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeylineError } from '../errors.js';
import { fromPem, toPem } from '../pem.js';
import * as x509 from '../x509.js';

/** File names of the root certificate and its key in their folder. */
export const MANUFACTURER_ROOT_FILES = { cert: 'se050-manufacturer-root.pem', key: 'se050-manufacturer-root.key.pem' } as const;

/** A manufacturer root: certificate and (development only) private key. */
export interface ManufacturerRoot {
  certDer: Uint8Array;
  certPem: string;
  /** PKCS#8 PEM of the root key: development material, never a production secret. */
  keyPem: string;
}

const crypto = webcrypto as unknown as Crypto;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Makes a new self-signed P-256 root ("<org> SE050 Manufacturer Root (development)"), valid 25 years. */
export async function createManufacturerRoot(opts: { org?: string; now?: Date } = {}): Promise<ManufacturerRoot> {
  const now = opts.now ?? new Date();
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + 25);
  const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const org = opts.org ?? 'Keyline Dev';
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: `CN=${org} SE050 Manufacturer Root (development), O=${org}`,
      notBefore: now,
      notAfter,
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const certDer = new Uint8Array(cert.rawData);
  return { certDer, certPem: toPem(certDer), keyPem: toPem(pkcs8, 'PRIVATE KEY') };
}

/** Writes the root's two files into `dir` (the key file 0600). */
export async function writeManufacturerRoot(dir: string, root: ManufacturerRoot): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, MANUFACTURER_ROOT_FILES.cert);
  const keyPath = join(dir, MANUFACTURER_ROOT_FILES.key);
  await writeFile(certPath, root.certPem, { mode: 0o644 });
  await writeFile(keyPath, root.keyPem, { mode: 0o600 });
  return { certPath, keyPath };
}

/** True when `dir` holds both files of a root. */
export function hasManufacturerRoot(dir: string): boolean {
  return existsSync(join(dir, MANUFACTURER_ROOT_FILES.cert)) && existsSync(join(dir, MANUFACTURER_ROOT_FILES.key));
}

/**
 * Loads the root from `dir`; CONFIG_INVALID when a file is missing, unparsable, or the key is
 * not the certificate's key.
 */
export async function loadManufacturerRoot(dir: string): Promise<ManufacturerRoot> {
  const certPath = join(dir, MANUFACTURER_ROOT_FILES.cert);
  const keyPath = join(dir, MANUFACTURER_ROOT_FILES.key);
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  } catch (cause) {
    throw new KeylineError('CONFIG_INVALID', `SE050 manufacturer root not readable in ${dir} (${MANUFACTURER_ROOT_FILES.cert}, ${MANUFACTURER_ROOT_FILES.key})`, { cause, detail: { dir } });
  }
  try {
    const certDer = fromPem(certPem);
    const cert = new X509Certificate(Buffer.from(certDer));
    const key = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key)) throw new Error('key does not match the certificate');
    return { certDer, certPem, keyPem };
  } catch (cause) {
    throw new KeylineError('CONFIG_INVALID', `SE050 manufacturer root in ${dir} is invalid: ${(cause as Error).message}`, { cause, detail: { dir } });
  }
}
