/**
 * The CRL distribution point URLs a certificate names (RFC 5280 §4.2.1.13): the server serves
 * the root's CRL at the path the issuing CA certificates name, so a relying party that follows
 * them (openssl verify -crl_check_all with a fetched CRL, a device) finds it there.
 */
import * as x509 from '../../common/x509.js';

/** The http(s) URIs of the certificate's CRL distribution points, in order. */
export function crlDistributionUrls(cert: x509.X509Certificate): string[] {
  const ext = cert.getExtension(x509.CRLDistributionPointsExtension);
  const out: string[] = [];
  for (const dp of ext?.distributionPoints ?? []) {
    for (const name of dp.distributionPoint?.fullName ?? []) {
      const uri = name.uniformResourceIdentifier;
      if (uri && /^https?:\/\//i.test(uri)) out.push(uri);
    }
  }
  return out;
}
