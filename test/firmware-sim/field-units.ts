/**
 * Provisioned units of either chip for the device tests, made without the station (which gains
 * SE050 support separately): each part goes through the SecureElement seam in the station's
 * order (prepare, key generated inside, key-origin evidence for this request, POST /v1/units with
 * it, certificate and chain written into the chip, read back, finalise, confirm) against the real
 * station API, as test/server/services/key-origin.test.ts does at the service.
 */
import { X509Certificate } from 'node:crypto';
import { fromPemAll } from '../../common/pem.js';
import { attestationFreshness } from '../../common/protocol/key-origin.js';
import type { AppletVersionName } from '../../common/se05x/applet-constants.js';
import type { ManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import type { Atecc608Chip } from '../../emulator/atecc608/chip.js';
import { createBlankChip } from '../../emulator/atecc608/factory.js';
import { InProcessTransport } from '../../emulator/in-process-transport.js';
import type { Se050Chip } from '../../emulator/se050/chip.js';
import { createSe050Chip } from '../../emulator/se050/factory.js';
import { InProcessApduTransport } from '../../emulator/se050/in-process-apdu-transport.js';
import { loadTrust, type FirmwareTrust } from '../../firmware-sim/firmware-trust.js';
import { atcacertCodec, Atecc608SecureElement } from '../../secure-element/atecc608-secure-element.js';
import { evidenceWire } from '../../secure-element/attestation-wire.js';
import { AteccDevice } from '../../secure-element/device.js';
import { Se05xDevice } from '../../secure-element/se05x/se05x-device.js';
import { Se05xSecureElement } from '../../secure-element/se05x/se05x-secure-element.js';
import type { SecureElement } from '../../secure-element/secure-element.js';
import type { StationApiClient } from '../../station/api-client.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The certificates of a PEM chain that a device stores: all but a self-signed root (the trust anchor). */
function storedChain(chainPem: string): Uint8Array[] {
  return fromPemAll(chainPem).filter((der) => {
    const c = new X509Certificate(Buffer.from(der));
    return !(c.subject === c.issuer && c.verify(c.publicKey));
  });
}

/** Provisions one part on `workOrder`; with `confirm: false` it stops before finalise and confirm (a unit the line never confirmed). */
export async function provisionUnit(api: StationApiClient, se: SecureElement, workOrder: string, confirm = true): Promise<void> {
  try {
    await se.prepare();
    const publicKey = await se.generateKey();
    const { serialHex: serial } = await se.identity();
    const idempotencyKey = `test-${serial}`;
    const attestation = evidenceWire(await se.attest(attestationFreshness({ serial, workOrder, idempotencyKey })));
    const req = { serial, publicKey: hex(publicKey), workOrder, idempotencyKey, attestation };
    const issued = await api.issueUnit(req);
    const device = fromPemAll(issued.certificatePem)[0]!;
    await se.writeCertificates({ device, chain: storedChain(issued.chainPem) });
    if (hex((await se.readCertificates()).device) !== hex(device)) throw new Error(`chip ${serial}: the device certificate did not read back`);
    if (confirm) {
      await se.finalise();
      await api.confirmUnit(serial, issued.fingerprintSha256);
    }
  } finally {
    await se.close();
  }
}

/** `n` new SE050 parts (attestation certificates from `root`, the server's manufacturer root), provisioned. */
export async function provisionSe050Units(api: StationApiClient, n: number, o: { workOrder: string; root: ManufacturerRoot; applet?: (i: number) => AppletVersionName; confirm?: boolean }): Promise<Se050Chip[]> {
  const chips: Se050Chip[] = [];
  for (let i = 0; i < n; i++) {
    const chip = await createSe050Chip({ root: o.root, applet: o.applet?.(i) ?? '3.1' });
    await provisionUnit(api, new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(chip))), o.workOrder, o.confirm);
    chips.push(chip);
  }
  return chips;
}

/** `n` blank ATECC608 parts, provisioned; `trust` gives the compressed-certificate templates (the work order's product). */
export async function provisionAteccUnits(api: StationApiClient, n: number, o: { workOrder: string; trust: FirmwareTrust }): Promise<Atecc608Chip[]> {
  const codec = atcacertCodec(loadTrust(o.trust));
  const chips: Atecc608Chip[] = [];
  for (let i = 0; i < n; i++) {
    const chip = createBlankChip();
    await provisionUnit(api, new Atecc608SecureElement(new AteccDevice(new InProcessTransport(chip)), { certificates: codec }), o.workOrder);
    chips.push(chip);
  }
  return chips;
}
