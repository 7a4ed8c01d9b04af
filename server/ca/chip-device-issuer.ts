/**
 * One DeviceIssuer per issuing CA that issues for both chips: each request goes to the profile of
 * the chip it names (its work order's chip), so the issuance rules, audit and outbox stay one
 * path while the certificate's shape follows the chip that stores it.
 */
import type { ChipKind } from '../../common/chip-serial.js';
import type { DeviceCertRequest, DeviceIssuer, IssuedCertificate } from './device-issuer.js';

/** Sends each request to `profiles[req.chip ?? 'atecc608']`. */
export function createChipDeviceIssuer(profiles: Readonly<Record<ChipKind, DeviceIssuer>>): DeviceIssuer {
  return {
    issue(req: DeviceCertRequest): Promise<IssuedCertificate> {
      return profiles[req.chip ?? 'atecc608'].issue(req);
    },
  };
}
