/**
 * The station's certificate checks: the issued certificate chains to the configured root and
 * names this chip and its key; its compressed forms are made for the chip; and what is read back
 * from the chip rebuilds, byte for byte, into exactly the certificates the server issued.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { KeylineError } from '../common/errors.js';
import { fromPem, fromPemAll } from '../common/pem.js';
import * as x509 from '../common/x509.js';
import type { CertDef } from '../secure-element/atcacert/cert-def.js';
import { compressCertificate } from '../secure-element/atcacert/compress.js';
import { deviceCertDefs, type DeviceDefOptions } from '../secure-element/atcacert/device-defs.js';
import { rebuildCertificate } from '../secure-element/atcacert/rebuild.js';
import { signerCertDef } from '../secure-element/atcacert/signer-def.js';
import type { ChipCertificates } from './chip-steps.js';

/** An issued certificate checked for a chip that stores DER: the device certificate and its chain (issuing CA first, no root). */
export interface IssuedDer {
  deviceDer: Uint8Array;
  issuingDer: Uint8Array;
  chainDer: Uint8Array[];
}

/** A unit's certificates, checked, with the bytes to write into the chip. */
export interface PreparedCertificates {
  deviceDer: Uint8Array;
  issuingDer: Uint8Array;
  /** The device template the certificate was compressed with (and is rebuilt with). */
  deviceDef: CertDef;
  chip: ChipCertificates;
}

const bad = (msg: string): never => {
  throw new KeylineError('CHAIN_INVALID', msg);
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const isSelfSigned = (c: X509Certificate) => c.checkIssued(c) && c.verify(c.publicKey);

/** The raw X||Y of a P-256 certificate's subject key. */
function rawPublicKey(cert: X509Certificate): Uint8Array {
  const jwk = cert.publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) return bad(`certificate ${cert.subject} key is not P-256`);
  return new Uint8Array(Buffer.concat([Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]));
}

/** The fields of the device template that come from the CA's profile rather than the unit. */
export function deviceDefOptionsFrom(deviceDer: Uint8Array, issuingCaDer: Uint8Array): DeviceDefOptions {
  const c = new x509.X509Certificate(Buffer.from(deviceDer));
  const product = c.subjectName.getField('2.5.4.10')[0];
  if (!product) return bad('device certificate has no subject O (product)');
  const nb = c.notBefore;
  const na = c.notAfter;
  // RFC 5280 §4.1.2.5: 99991231235959Z means "no well-defined expiration", the template's 0 years.
  const validityYears = na.getUTCFullYear() === 9999 ? 0 : na.getUTCFullYear() - nb.getUTCFullYear();
  const crl = c.getExtension(x509.CRLDistributionPointsExtension)?.distributionPoints[0]?.distributionPoint?.fullName?.[0]?.uniformResourceIdentifier;
  const ocsp = c.getExtension(x509.AuthorityInfoAccessExtension)?.ocsp[0]?.value;
  return { issuingCaDer, product, validityYears, ...(crl ? { crlUrl: crl } : {}), ...(ocsp ? { ocspUrl: ocsp } : {}) };
}

/** Checks and prepares certificates against one root; caches the templates between units. */
export class CertChecker {
  private readonly root: X509Certificate;
  private readonly trusted = new Set<string>();
  private deviceDefs: CertDef[] = [];
  private signerDefs = new Map<string, CertDef>();
  private chain: { pem: string; certs: Array<{ der: Uint8Array; cert: X509Certificate }>; stored?: Uint8Array[] } | undefined;

  constructor(rootPem: string) {
    this.root = new X509Certificate(Buffer.from(fromPem(rootPem)));
    if (!this.root.verify(this.root.publicKey)) bad('configured root certificate is not self-signed');
  }

  /**
   * Verifies an issued certificate for a chip that stores DER (the SE050): chain to the root,
   * CN = serial, key = the chip's key. The chain to store is the issued chain without its
   * self-signed root (a trust anchor the device need not hold), issuing CA first.
   */
  checkIssued(issued: { certificatePem: string; chainPem: string }, chipSerialHex: string, chipPublicKey: Uint8Array): IssuedDer {
    const { deviceDer, issuing } = this.verifyIssued(issued, chipSerialHex, chipPublicKey);
    // The same chain for every unit of a run: what to store is worked out once.
    const c = this.chain!;
    c.stored ??= [issuing.der, ...c.certs.filter((x) => x !== issuing && !isSelfSigned(x.cert)).map((x) => x.der)];
    return { deviceDer, issuingDer: issuing.der, chainDer: c.stored };
  }

  /** Verifies the issued certificate and its chain, and compresses both for the chip. */
  prepare(issued: { certificatePem: string; chainPem: string }, chipSerialHex: string, chipPublicKey: Uint8Array): PreparedCertificates {
    const { deviceDer, issuing } = this.verifyIssued(issued, chipSerialHex, chipPublicKey);
    const signerDef = this.signerDef(issuing.der);
    const { def: deviceDef, compressed } = this.compressDevice(deviceDer, issuing.der);
    return {
      deviceDer,
      issuingDer: issuing.der,
      deviceDef,
      chip: {
        deviceCompressed: compressed,
        signerPublicKey: rawPublicKey(issuing.cert),
        signerCompressed: compressCertificate(signerDef, issuing.der),
      },
    };
  }

  /**
   * Rebuilds both certificates from what the chip holds (its serial, its key, the compressed
   * bytes and the signer key read back) and requires them equal to the issued DER.
   */
  checkReadBack(read: ChipCertificates, prepared: PreparedCertificates, chipSerial: Uint8Array, chipPublicKey: Uint8Array): void {
    const signerDef = this.signerDef(prepared.issuingDer);
    // Byte equality with DER whose signatures prepare() verified (device by the issuing key,
    // issuing by the root) is the whole check: the rebuilt signatures need no second verify, and
    // an equal signer certificate proves slot 11 holds the issuing CA's key.
    const signer = rebuildCertificate(signerDef, { publicKey: read.signerPublicKey, compressed: read.signerCompressed });
    if (hex(signer) !== hex(prepared.issuingDer)) {
      throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', 'signer certificate rebuilt from the chip differs from the issuing CA certificate');
    }
    const device = rebuildCertificate(prepared.deviceDef, { publicKey: chipPublicKey, compressed: read.deviceCompressed, chipSerial });
    if (hex(device) !== hex(prepared.deviceDer)) {
      throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', 'device certificate rebuilt from the chip differs from the issued certificate');
    }
  }

  /** Chain to the configured root, validity, CN = the chip's serial, key = the chip's key. */
  private verifyIssued(issued: { certificatePem: string; chainPem: string }, chipSerialHex: string, chipPublicKey: Uint8Array): { deviceDer: Uint8Array; issuing: { der: Uint8Array; cert: X509Certificate } } {
    const deviceDer = fromPem(issued.certificatePem);
    const device = new X509Certificate(Buffer.from(deviceDer));
    const chain = this.parseChain(issued.chainPem);
    const issuing = chain.find((c) => device.checkIssued(c.cert) && c.cert.ca);
    if (!issuing) return bad(`no CA certificate in the chain issued device certificate ${device.serialNumber}`);
    if (!device.verify(issuing.cert.publicKey)) bad(`device certificate ${device.serialNumber} signature does not verify with ${issuing.cert.subject}`);
    this.checkIssuing(issuing.der, issuing.cert);
    const now = Date.now();
    if (Date.parse(device.validFrom) > now + 3_600_000) bad(`device certificate is not valid before ${device.validFrom}`);
    // The certificate must be for this chip: CN = its serial, key = the key its GenKey returned.
    if (!device.subject.split('\n').includes(`CN=${chipSerialHex}`)) bad(`device certificate subject ${JSON.stringify(device.subject)} does not name chip ${chipSerialHex}`);
    if (hex(rawPublicKey(device)) !== hex(chipPublicKey)) bad(`device certificate key is not chip ${chipSerialHex}'s key`);

    return { deviceDer, issuing };
  }

  /** The chain is the same for every unit of a run: parsed once. */
  private parseChain(pem: string): Array<{ der: Uint8Array; cert: X509Certificate }> {
    if (this.chain?.pem !== pem) this.chain = { pem, certs: fromPemAll(pem).map((d) => ({ der: d, cert: new X509Certificate(Buffer.from(d)) })) };
    return this.chain.certs;
  }

  private checkIssuing(der: Uint8Array, cert: X509Certificate): void {
    const fp = createHash('sha256').update(der).digest('hex');
    if (this.trusted.has(fp)) return;
    if (!cert.checkIssued(this.root) || !cert.verify(this.root.publicKey)) bad(`issuing CA ${cert.subject} does not verify to the configured root ${this.root.subject}`);
    this.trusted.add(fp);
  }

  private signerDef(issuingDer: Uint8Array): CertDef {
    const key = hex(issuingDer);
    let def = this.signerDefs.get(key);
    if (!def) this.signerDefs.set(key, (def = signerCertDef(issuingDer)));
    return def;
  }

  private compressDevice(deviceDer: Uint8Array, issuingDer: Uint8Array): { def: CertDef; compressed: Uint8Array } {
    // The profile (product, validity, URLs) is the same for every unit of a run: templates
    // derived from the first certificate serve the rest; a mismatch derives them again.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt === 1 || this.deviceDefs.length === 0) this.deviceDefs = deviceCertDefs(deviceDefOptionsFrom(deviceDer, issuingDer));
      for (const def of this.deviceDefs) {
        try {
          return { def, compressed: compressCertificate(def, deviceDer) };
        } catch (err) {
          if (!(err instanceof KeylineError) || err.code !== 'ATCACERT_TEMPLATE_MISMATCH') throw err;
        }
      }
    }
    throw new KeylineError('ATCACERT_TEMPLATE_MISMATCH', 'issued device certificate does not fit any device template; it cannot be stored compressed');
  }
}
