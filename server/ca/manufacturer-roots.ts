/**
 * The SE050 manufacturer roots the server trusts for key-origin evidence (config
 * `ca.manufacturerRoots`, issue 15): every certificate of every PEM file, each a CA certificate.
 * Read once at start-up; a file that cannot be read or holds no CA certificate is a configuration
 * error, reported with the file's name.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KeylineError } from '../../common/errors.js';
import { fromPemAll } from '../../common/pem.js';

/** The DER of every root certificate in `files`. */
export function loadManufacturerRoots(files: readonly string[]): Uint8Array[] {
  return files.flatMap((file) => {
    let ders: Uint8Array[];
    try {
      ders = fromPemAll(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new KeylineError('CONFIG_INVALID', `ca.manufacturerRoots: cannot read ${file}`, { cause });
    }
    if (ders.length === 0) throw new KeylineError('CONFIG_INVALID', `ca.manufacturerRoots: ${file} holds no certificate`);
    for (const der of ders) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(Buffer.from(der));
      } catch (cause) {
        throw new KeylineError('CONFIG_INVALID', `ca.manufacturerRoots: ${file} holds a certificate that is not X.509 DER`, { cause });
      }
      if (!cert.ca) throw new KeylineError('CONFIG_INVALID', `ca.manufacturerRoots: ${cert.subject} in ${file} is not a CA certificate`);
    }
    return ders;
  });
}
