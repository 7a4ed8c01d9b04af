/**
 * The dev ceremony's SE050 step: a per-installation "manufacturer root" standing in for NXP's
 * attestation root, written as certs-dev/se050-manufacturer-root.pem (what the server trusts for
 * SE050 key-origin evidence) and se050-manufacturer-root.key.pem (development-only material, like
 * the SoftHSM tokens, read only by `keyline emulator serve --chip se050` to certify each emulated
 * chip's attestation key). In production the server trusts NXP's root and no key exists here.
 */
import { createManufacturerRoot, MANUFACTURER_ROOT_FILES, writeManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import type { DevCeremony } from './dev-ceremony.js';

/** Files this step writes (removed by --force with the rest of the PKI). */
export const SE050_ROOT_ARTIFACTS: readonly string[] = [MANUFACTURER_ROOT_FILES.cert, MANUFACTURER_ROOT_FILES.key];

/** Makes and writes the development SE050 manufacturer root; returns the certificate path. */
export async function createDevSe050Root(c: DevCeremony): Promise<string> {
  const root = await createManufacturerRoot({ org: c.org, now: c.now });
  const { certPath } = await writeManufacturerRoot(c.out, root);
  c.say(`SE050 manufacturer root (development) written to ${certPath}`);
  return certPath;
}
