/**
 * What a device's firmware ships with from the factory: the pinned root certificate and the
 * certificate templates (cryptoauthlib's compiled cert defs) its chip's compressed certificates
 * are rebuilt with. The simulator keeps it in the device-state file, written at first boot from
 * the factory's keyline.json, so a later change to that file cannot re-pin a device in the field.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { KeylineError } from '../common/errors.js';
import { fromPem } from '../common/pem.js';
import type { CertDef } from '../secure-element/atcacert/cert-def.js';
import { deviceCertDefs } from '../secure-element/atcacert/device-defs.js';
import { signerCertDef } from '../secure-element/atcacert/signer-def.js';

/** The product name of the demo's work orders, the default firmware product. */
export const DEMO_PRODUCT = 'Keyline Demo Sensor';

/** The firmware's pinned trust and template parameters (JSON-safe: PEM strings). */
export const firmwareTrustSchema = z
  .object({
    /** The root every certificate the device accepts must chain to (broker, signer, config signer). */
    rootCertPem: z.string().includes('BEGIN CERTIFICATE'),
    /** The issuing CA certificate the signer template is cut from (its key and signature come from the chip). */
    issuingCertPem: z.string().includes('BEGIN CERTIFICATE'),
    /** The device template's fixed fields: subject O, validity, CRL and OCSP URLs (the CA's device profile). */
    product: z.string().min(1).max(64),
    validityYears: z.number().int().min(0).max(127),
    crlUrl: z.string().optional(),
    ocspUrl: z.string().optional(),
  })
  .strict();

/** The firmware's pinned trust and template parameters. */
export type FirmwareTrust = z.infer<typeof firmwareTrustSchema>;

/** The trust loaded into memory: certificates parsed and templates built once. */
export interface Trust {
  spec: FirmwareTrust;
  root: X509Certificate;
  rootDer: Uint8Array;
  /** The root's raw P-256 X‖Y (what atcacert's rebuild verifies a signer certificate with). */
  rootPublicKey: Uint8Array;
  signerDef: CertDef;
  deviceDefs: CertDef[];
}

const bad = (msg: string): never => {
  throw new KeylineError('CHAIN_INVALID', msg);
};

/** The raw X‖Y of a P-256 certificate key. */
export function rawP256Key(cert: X509Certificate): Uint8Array {
  const jwk = cert.publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) return bad(`certificate ${cert.subject} key is not P-256`);
  return new Uint8Array(Buffer.concat([Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]));
}

// Built trusts by their spec: a fleet's devices share one firmware build, and the templates are a
// pure function of it (each device still rebuilds and verifies its own certificates).
const built = new Map<string, Trust>();

/** Parses the trust and builds the templates; the root must be self-signed and a CA. */
export function loadTrust(spec: FirmwareTrust): Trust {
  const key = JSON.stringify(spec);
  let trust = built.get(key);
  if (!trust) {
    if (built.size >= 16) built.clear();
    built.set(key, (trust = buildTrust(spec)));
  }
  return trust;
}

function buildTrust(spec: FirmwareTrust): Trust {
  const rootDer = fromPem(spec.rootCertPem);
  const root = new X509Certificate(Buffer.from(rootDer));
  if (!root.ca || !root.verify(root.publicKey)) bad(`pinned root ${root.subject} is not a self-signed CA certificate`);
  const issuingDer = fromPem(spec.issuingCertPem);
  const deviceDefs = deviceCertDefs({
    issuingCaDer: issuingDer, product: spec.product, validityYears: spec.validityYears,
    ...(spec.crlUrl ? { crlUrl: spec.crlUrl } : {}), ...(spec.ocspUrl ? { ocspUrl: spec.ocspUrl } : {}),
  });
  return { spec, root, rootDer, rootPublicKey: rawP256Key(root), signerDef: signerCertDef(issuingDer), deviceDefs };
}

/**
 * The firmware trust a factory keyline.json describes (ca.rootCert, ca.issuingCert and the
 * device profile's URLs and validity), for `product`. Reads the file without the server's schema
 * so a device needs none of the server's secrets.
 */
export function trustFromFactoryConfig(configFile: string, product: string): FirmwareTrust {
  const path = resolve(configFile);
  let raw: { ca?: { rootCert?: string; issuingCert?: string; crlUrl?: string; ocspUrl?: string; deviceValidityYears?: number } };
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KeylineError('CONFIG_INVALID', `cannot read config ${path}: ${(err as Error).message}`, { cause: err });
  }
  const ca = raw.ca ?? {};
  const file = (p: string | undefined, dflt: string, field: string) => {
    const f = p ?? dflt;
    const abs = isAbsolute(f) ? f : resolve(dirname(path), f);
    try {
      return readFileSync(abs, 'utf8');
    } catch (err) {
      throw new KeylineError('CONFIG_INVALID', `${field}: cannot read ${abs}`, { cause: err });
    }
  };
  return firmwareTrustSchema.parse({
    rootCertPem: file(ca.rootCert, 'root-ca.pem', 'ca.rootCert'),
    issuingCertPem: file(ca.issuingCert, 'issuing-ca.pem', 'ca.issuingCert'),
    product,
    validityYears: ca.deviceValidityYears ?? 0,
    ...(ca.crlUrl ? { crlUrl: ca.crlUrl } : {}),
    ...(ca.ocspUrl ? { ocspUrl: ca.ocspUrl } : {}),
  });
}
