/**
 * PKCS#10 requests for the `csr` and `station-api` targets: P-256 ones (accepted), one on P-384
 * and one with extensions (refused or accepted by rule, never by accident), with their raw keys.
 */
import { webcrypto } from 'node:crypto';
import * as x509 from '../common/x509.js';

/** One sample request. */
export interface CsrSample {
  der: Uint8Array;
  pem: string;
  /** Raw X‖Y of a P-256 request's key; null for other curves. */
  raw: Uint8Array | null;
}

async function make(curve: 'P-256' | 'P-384', withExtensions: boolean): Promise<CsrSample> {
  const alg = { name: 'ECDSA', namedCurve: curve, hash: curve === 'P-256' ? 'SHA-256' : 'SHA-384' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=0123456789ABCDEFEE, O=Keyline Fuzz',
    keys,
    signingAlgorithm: alg,
    ...(withExtensions ? { extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'device.local' }])] } : {}),
  }, webcrypto as unknown as Crypto);
  const raw = curve === 'P-256' ? new Uint8Array(Buffer.from(await webcrypto.subtle.exportKey('raw', keys.publicKey)).subarray(1)) : null;
  return { der: new Uint8Array(csr.rawData), pem: csr.toString('pem'), raw };
}

/** Four P-256 requests (one with extensions) and one P-384 request. */
export async function csrSamples(): Promise<CsrSample[]> {
  return Promise.all([make('P-256', false), make('P-256', false), make('P-256', false), make('P-256', true), make('P-384', false)]);
}

/** PEM armour around DER, as a station would send it. */
export function pemOf(der: Uint8Array, label = 'CERTIFICATE REQUEST'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}
