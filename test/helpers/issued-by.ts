/**
 * A certificate DER that names an issuing CA (its issuer name and AKI) for unit records a test
 * inserts directly: the OCSP responder answers only for units whose certificate its own CA
 * issued (routed by AKI, issue 19). Signed by a throw-away software key, not the CA's: the tests
 * using it exercise the responder, which never re-verifies a recorded certificate.
 */
import { createClientCert } from '../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../server/ca/software-key.js';
import { toCert } from '../../server/ca/chain.js';
import { createSoftSigner } from './soft-signer.js';

/** DER of a certificate with serial `serialHex` naming `issuingDer` as its issuer. */
export async function certificateIssuedBy(issuingDer: Uint8Array, serialHex: string): Promise<Uint8Array> {
  const cert = await createClientCert({
    issuer: { signer: createSoftSigner(), cert: toCert(issuingDer) },
    stationId: 'unit-under-test', org: 'Keyline tests', spki: generateSoftwareKey().spki, serialHex,
  });
  return new Uint8Array(cert.rawData);
}
