/**
 * Certificate profiles for everything except devices (which come from a DER template): root CA,
 * issuing CA, station (mTLS client), server TLS and OCSP responder. All are built with
 * @peculiar/x509 through signer-crypto, so CA keys sign inside the HSM.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../../common/roles.js';
import * as x509 from '../../common/x509.js';
import type { Signer } from '../hsm/key-store.js';
import { signerCrypto } from './signer-crypto.js';

/**
 * A 16-byte positive serial (RFC 5280 §4.1.2.2: at most 20 octets, positive) whose first byte is
 * forced to 01xxxxxx, so its DER INTEGER is always exactly 16 bytes with no 00 pad — the size the
 * compressed-certificate format stores.
 */
export function randomSerialHex(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b.toString('hex');
}

/** `d` truncated to the whole UTC hour (compressed certificates carry hours, not minutes). */
export function hourFloor(d: Date): Date {
  const t = new Date(d.getTime());
  t.setUTCMinutes(0, 0, 0);
  return t;
}

/** `d` plus whole years, same month, day and hour (UTC). */
export function addYears(d: Date, years: number): Date {
  const t = new Date(d.getTime());
  t.setUTCFullYear(t.getUTCFullYear() + years);
  return t;
}

/** SHA-1 of the subjectPublicKey BIT STRING contents: RFC 5280 §4.2.1.2 method (1). */
export function keyIdentifier(spki: Uint8Array): string {
  // SPKI = SEQ { AlgorithmIdentifier, BIT STRING }; for EC the BIT STRING is the last field: 03 len 00 <point>.
  return createHash('sha1').update(lastBitStringContents(spki)).digest('hex');
}

function lastBitStringContents(spki: Uint8Array): Uint8Array {
  // EC points are short (65/97 bytes): the BIT STRING is `03 <len> 00 <point>` ending the SPKI.
  for (let i = spki.length - 3; i > 2; i--) {
    if (spki[i] === 0x03 && spki[i + 1] === spki.length - i - 2 && spki[i + 2] === 0x00) return spki.subarray(i + 3);
  }
  throw new Error('SPKI has no trailing BIT STRING');
}

function toAb(u: Uint8Array): ArrayBuffer {
  return u.slice().buffer as ArrayBuffer;
}

/** Common inputs of the profiles. */
export interface ProfileBase {
  /** Issue time; truncated to the hour. */
  now?: Date;
  /** Fixed serial (hex) for reproducible tests; random otherwise. */
  serialHex?: string;
}

/** What a subordinate certificate needs from its issuer. */
export interface Issuer {
  signer: Signer;
  cert: x509.X509Certificate;
}

const caKeyUsage = () => new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true);

/**
 * A self-signed root: basicConstraints CA (critical; `pathLength` when given: the production
 * ceremony sets 1, root → issuing CA → devices), keyCertSign + cRLSign, SKI; 30 years. The subject
 * is `subject` (an RFC 4514 string such as "CN=Acme Root CA, O=Acme") or O=<org>, CN=<org> Root CA.
 */
export async function createRootCa(p: ProfileBase & { signer: Signer; org: string; subject?: string; pathLength?: number; years?: number }): Promise<x509.X509Certificate> {
  const { crypto, keys, signingAlgorithm } = signerCrypto(p.signer);
  const spki = await p.signer.publicKeySpki();
  const notBefore = hourFloor(p.now ?? new Date());
  const name: x509.JsonName | x509.Name = p.subject !== undefined ? new x509.Name(p.subject) : [{ O: [p.org] }, { CN: [`${p.org} Root CA`] }];
  return x509.X509CertificateGenerator.create({
    serialNumber: p.serialHex ?? randomSerialHex(),
    subject: name,
    issuer: name,
    notBefore,
    // RFC 5280 §4.1.2.5: past 2049 the generator switches to GeneralizedTime by itself.
    notAfter: addYears(notBefore, p.years ?? 30),
    publicKey: new x509.PublicKey(toAb(spki)),
    signingKey: keys.privateKey,
    signingAlgorithm,
    extensions: [new x509.BasicConstraintsExtension(true, p.pathLength, true), caKeyUsage(), new x509.SubjectKeyIdentifierExtension(keyIdentifier(spki))],
  }, crypto);
}

/** The issuing CA's PKCS#10 request, signed with its (HSM) key as proof of possession. */
export async function createIssuingCaCsr(p: { signer: Signer; org: string }): Promise<x509.Pkcs10CertificateRequest> {
  const { crypto, keys, signingAlgorithm } = signerCrypto(p.signer);
  return x509.Pkcs10CertificateRequestGenerator.create({ name: issuingCaName(p.org), keys, signingAlgorithm }, crypto);
}

/** Subject of the issuing CA: O=<org>, CN=<org> Issuing CA. */
export function issuingCaName(org: string): x509.JsonName {
  return [{ O: [org] }, { CN: [`${org} Issuing CA`] }];
}

/**
 * The issuing CA (the profile the compressed-certificate signer template expects): P-256,
 * 16-byte serial, notBefore on the hour, notAfter 20 whole years later, basicConstraints critical
 * CA pathlen 0, keyUsage critical keyCertSign + cRLSign, SKI, AKI = the root's SKI, and the
 * root's CRL (the ARL that would revoke this CA) as CRL distribution point when `crlUrl` is given
 * (RFC 5280 §4.2.1.13: where a relying party finds this certificate's revocation status).
 */
export async function createIssuingCa(p: ProfileBase & { root: Issuer; subjectSpki: Uint8Array; org: string; years?: number; crlUrl?: string }): Promise<x509.X509Certificate> {
  const notBefore = hourFloor(p.now ?? new Date());
  return issue(p.root, {
    serialHex: p.serialHex, subject: issuingCaName(p.org), spki: p.subjectSpki, notBefore, notAfter: addYears(notBefore, p.years ?? 20),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), caKeyUsage(), ...(p.crlUrl ? [new x509.CRLDistributionPointsExtension([p.crlUrl])] : [])],
  });
}

/**
 * A person's or station's mTLS client certificate: CN = its id, OU = its role (common/roles.ts;
 * the API authorises by it; device certificates from the same CA carry no OU and so can never
 * act as a station), EKU clientAuth, KU digitalSignature.
 */
export async function createClientCert(p: ProfileBase & { issuer: Issuer; stationId: string; org: string; spki: Uint8Array; years?: number; role?: Role }): Promise<x509.X509Certificate> {
  const notBefore = hourFloor(p.now ?? new Date());
  return issue(p.issuer, {
    serialHex: p.serialHex, subject: [{ O: [p.org] }, { OU: [p.role ?? 'station'] }, { CN: [p.stationId] }], spki: p.spki, notBefore, notAfter: addYears(notBefore, p.years ?? 2),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
}

/** The server's TLS certificate: EKU serverAuth, SAN IP 127.0.0.1 + DNS localhost + `dnsNames`/`ipAddresses`. */
export async function createServerTlsCert(p: ProfileBase & { issuer: Issuer; org: string; spki: Uint8Array; dnsNames?: string[]; ipAddresses?: string[]; years?: number }): Promise<x509.X509Certificate> {
  const notBefore = hourFloor(p.now ?? new Date());
  const dns = [...new Set(['localhost', ...(p.dnsNames ?? [])])];
  const ips = [...new Set(['127.0.0.1', ...(p.ipAddresses ?? [])])];
  return issue(p.issuer, {
    serialHex: p.serialHex, subject: [{ O: [p.org] }, { CN: [dns[0]!] }],
    spki: p.spki, notBefore, notAfter: addYears(notBefore, p.years ?? 2),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      // RFC 6125 §6.4.4: clients match SANs, so every name the server answers to goes here.
      new x509.SubjectAlternativeNameExtension([...dns.map((value) => ({ type: 'dns' as const, value })), ...ips.map((value) => ({ type: 'ip' as const, value }))]),
    ],
  });
}

/** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): relying parties do not check the responder's own status. */
export const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

/** A delegated OCSP responder certificate: EKU OCSPSigning, id-pkix-ocsp-nocheck (value NULL). */
export async function createOcspResponderCert(p: ProfileBase & { issuer: Issuer; org: string; spki: Uint8Array; years?: number }): Promise<x509.X509Certificate> {
  const notBefore = hourFloor(p.now ?? new Date());
  return issue(p.issuer, {
    serialHex: p.serialHex, subject: [{ O: [p.org] }, { CN: [`${p.org} OCSP Responder`] }], spki: p.spki, notBefore, notAfter: addYears(notBefore, p.years ?? 1),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning]),
      new x509.Extension(OID_OCSP_NOCHECK, false, new Uint8Array([0x05, 0x00])),
    ],
  });
}

/** Signs a subordinate certificate with SKI and AKI (the issuer's SKI) added after `extensions`. */
async function issue(issuer: Issuer, c: { serialHex?: string; subject: x509.JsonName; spki: Uint8Array; notBefore: Date; notAfter: Date; extensions: x509.Extension[] }): Promise<x509.X509Certificate> {
  const { crypto, keys, signingAlgorithm } = signerCrypto(issuer.signer);
  const issuerSki = issuer.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? keyIdentifier(new Uint8Array(issuer.cert.publicKey.rawData));
  return x509.X509CertificateGenerator.create({
    serialNumber: c.serialHex ?? randomSerialHex(),
    subject: c.subject,
    // The issuer name is copied byte for byte from the issuer's subject (RFC 5280 §7.1 name chaining).
    issuer: new x509.Name(issuer.cert.subjectName.toArrayBuffer()),
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    publicKey: new x509.PublicKey(toAb(c.spki)),
    signingKey: keys.privateKey,
    signingAlgorithm,
    extensions: [...c.extensions, new x509.SubjectKeyIdentifierExtension(keyIdentifier(c.spki)), new x509.AuthorityKeyIdentifierExtension(issuerSki)],
  }, crypto);
}

/**
 * The enrollment config-signer (server/enroll/config-signer.ts): KU digitalSignature only, no EKU
 * (it never speaks TLS; devices accept it only for configuration signatures, by its OU), issued by
 * the issuing CA so a device verifies it against the chain pinned on its chip.
 */
export async function createConfigSignerCert(p: ProfileBase & { issuer: Issuer; org: string; spki: Uint8Array; years?: number }): Promise<x509.X509Certificate> {
  const notBefore = hourFloor(p.now ?? new Date());
  return issue(p.issuer, {
    serialHex: p.serialHex, subject: [{ O: [p.org] }, { OU: ['config-signer'] }, { CN: [`${p.org} Config Signer`] }], spki: p.spki, notBefore, notAfter: addYears(notBefore, p.years ?? 2),
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
}
