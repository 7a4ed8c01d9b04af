/**
 * Enrollment with several issuing CAs (issue 19: a rotation leaves devices of the old CA in the
 * field while the new one issues): one enrollment service per CA, each trusting that CA's device
 * certificates and answering with a config-signer certificate that CA certified, since a device
 * checks the config signer against the signer certificate on its own chip. A hello goes to the
 * service of the CA its certificate names (AKI); a proof or an mTLS enrollment to the CA of the
 * unit's recorded certificate (one read, only while more than one CA is loaded). Devices of a CA
 * the root revoked are refused (CERTIFICATE_UNTRUSTED). Services are made on first use, so a CA
 * loaded after start (on activation) enrolls its devices too.
 */
import { KeylineError } from '../../common/errors.js';
import type { EnrollmentService } from './enrollment-service.js';

/** What the wrapper needs to know about the CAs. */
export interface CaEnrollments {
  /** Key ids of the loaded CAs; the first answers for anything no other CA claims. */
  keyIds(): string[];
  /** The enrollment service of one CA (made on first use). */
  serviceFor(keyId: string): Promise<EnrollmentService>;
  /** The CA key id a certificate names (its AKI), or null. */
  keyIdOf(certificateDer: Uint8Array): string | null;
  /** True when the root's newest CRL lists the CA. */
  revoked(keyId: string): boolean;
  /** The unit's recorded certificate, or null. */
  unitCertificate(serial: string): Promise<Uint8Array | null>;
}

/** An EnrollmentService routing each device to its own CA's service; ready(keyId) makes one CA's service now. */
export function createMultiCaEnrollment(c: CaEnrollments): EnrollmentService & { ready(keyId: string): Promise<void> } {
  const route = async (keyId: string | null, serial: string): Promise<EnrollmentService> => {
    const ids = c.keyIds();
    if (keyId && c.revoked(keyId)) throw new KeylineError('CERTIFICATE_UNTRUSTED', `unit ${serial}: its issuing CA ${keyId} is revoked by the root`);
    return c.serviceFor(keyId && ids.includes(keyId) ? keyId : ids[0]!);
  };
  const ofUnit = async (serial: string): Promise<string | null> => {
    if (c.keyIds().length === 1) return c.keyIds()[0]!;
    const der = await c.unitCertificate(serial);
    return der ? c.keyIdOf(der) : null;
  };
  return {
    async ready(keyId) {
      await c.serviceFor(keyId);
    },
    async hello(serial, certificateDer) {
      // With one CA in good standing every certificate goes to its service whatever its AKI
      // names (route's answer for any key id): the certificate is not read for it.
      const ids = c.keyIds();
      if (ids.length === 1 && !c.revoked(ids[0]!)) return (await c.serviceFor(ids[0]!)).hello(serial, certificateDer);
      return (await route(c.keyIdOf(certificateDer), serial)).hello(serial, certificateDer);
    },
    async proof(serial, p) {
      return (await route(await ofUnit(serial), serial)).proof(serial, p);
    },
    async enrollVerified(serial, shown) {
      return (await route(await ofUnit(serial), serial)).enrollVerified(serial, shown);
    },
    async verifiedEnrollment(serial) {
      return (await route(await ofUnit(serial), serial)).verifiedEnrollment(serial);
    },
  };
}
