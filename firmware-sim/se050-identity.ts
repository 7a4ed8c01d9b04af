/**
 * An SE050 device's identity as its firmware learns it at power-on: the unique id (object
 * 7FFF0206), the device certificate and its chain stored whole as DER in the chip's binary
 * objects (secure-element/SE050-OBJECT-MAP.md: 20000002, 20000003, 20000010+), the device key's
 * public half (20000001) and the enrollment counter (20000004), all through the SecureElement
 * seam. Unlike the ATECC608 nothing is rebuilt from templates, so nothing product-specific is
 * needed: only the pinned root. Nothing read is trusted until a signature has checked it.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { KeylineError } from '../common/errors.js';
import type { SecureElement } from '../secure-element/secure-element.js';
import type { ChipIdentity } from './chip-identity.js';
import { rawP256Key, type Trust } from './firmware-trust.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const bad = (msg: string): never => {
  throw new KeylineError('CHAIN_INVALID', msg);
};

function parse(der: Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(Buffer.from(der));
  } catch (err) {
    throw new KeylineError('CHAIN_INVALID', `${what} read from the chip is not a DER X.509 certificate (${der.length} bytes)`, { cause: err });
  }
}

/**
 * Reads and verifies an SE050's certificates: every chain certificate a CA issued by the next
 * (the last by the pinned root; RFC 5280 §6.1.3 (a)(1) signature, (a)(4) names, §6.1.4 (k) CA),
 * the device certificate issued by the first, naming the chip's unique id as subject CN, its key
 * equal to the key object's (so a certificate copied from another part cannot pass), and valid now.
 */
export async function readSe050Identity(se: SecureElement, trust: Trust): Promise<ChipIdentity> {
  const { serial, serialHex } = await se.identity();
  if (!(await se.state()).certificatesWritten) {
    bad(`chip ${serialHex} holds no device certificate and chain (objects 20000002, 20000003): the part was never provisioned`);
  }
  const { device: deviceDer, chain } = await se.readCertificates();
  const publicKey = await se.publicKey();
  const counter = await se.counterRead();

  const certs = chain.map((der, i) => parse(der, `chain certificate ${i}`));
  for (const [i, c] of certs.entries()) {
    const issuer = certs[i + 1] ?? trust.root;
    if (!c.ca || !c.checkIssued(issuer) || !c.verify(issuer.publicKey)) {
      bad(`chain certificate ${i} (${c.subject.replace(/\n/g, ', ')}) read from chip ${serialHex} is not a CA issued by ${i + 1 < certs.length ? `chain certificate ${i + 1}` : `the pinned root ${trust.root.subject}`}`);
    }
  }
  const signer = certs[0]!;
  const device = parse(deviceDer, 'device certificate');
  if (!device.checkIssued(signer) || !device.verify(signer.publicKey)) bad(`device certificate of chip ${serialHex} is not issued by ${signer.subject.replace(/\n/g, ', ')}`);
  if (!device.subject.split('\n').includes(`CN=${serialHex}`)) bad(`device certificate subject ${device.subject.replace(/\n/g, ', ')} does not name chip ${serialHex}`);
  if (hex(rawP256Key(device)) !== hex(publicKey)) bad(`device certificate key is not chip ${serialHex}'s device key (object 20000001)`);
  // RFC 5280 §4.1.2.5: a device certificate not yet valid is refused like an expired one.
  const now = Date.now();
  if (Date.parse(device.validFrom) > now + 3_600_000 || Date.parse(device.validTo) < now) {
    throw new KeylineError('CERTIFICATE_EXPIRED', `device certificate of ${serialHex} is valid ${device.validFrom} to ${device.validTo}`);
  }
  return { chip: 'se050', serial, serialHex, publicKey, deviceDer, signerDer: chain[0]!, fingerprint: createHash('sha256').update(deviceDer).digest('hex'), counter };
}
