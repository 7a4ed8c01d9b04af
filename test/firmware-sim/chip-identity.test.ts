import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { AteccDevice } from '../../secure-element/device.js';
import { InProcessTransport } from '../../emulator/in-process-transport.js';
import { Slot } from '../../secure-element/slot-map.js';
import { createRootCa } from '../../server/ca/profiles.js';
import { toPem } from '../../common/pem.js';
import { readChipIdentity } from '../../firmware-sim/chip-identity.js';
import { loadTrust } from '../../firmware-sim/firmware-trust.js';
import { createSoftSigner } from '../helpers/soft-signer.js';
import { provisionChips } from './provisioned.js';
import { OPERATOR } from '../helpers/actors.js';

const dev = (chip: ConstructorParameters<typeof InProcessTransport>[0]) => new AteccDevice(new InProcessTransport(chip));

t.test('rebuilds the issued device and signer certificates from the chip and verifies them to the root', async (t) => {
  const p = await provisionChips(t, 2);
  const trust = loadTrust(p.trust);
  for (const chip of p.chips) {
    const id = await readChipIdentity(dev(chip), trust);
    const unit = await p.backend.prov.getUnit(id.serialHex, OPERATOR);
    t.equal(id.fingerprint, unit.fingerprintSha256, 'device certificate rebuilt byte for byte (same fingerprint as issued)');
    const device = new X509Certificate(Buffer.from(id.deviceDer));
    t.match(device.subject, `CN=${id.serialHex}`);
    t.ok(device.verify(new X509Certificate(Buffer.from(id.signerDer)).publicKey));
    t.equal(id.counter, 0, 'a fresh part has counter 0');
  }
});

t.test('a root the chain does not lead to is refused', async (t) => {
  const p = await provisionChips(t, 1);
  const other = await createRootCa({ signer: createSoftSigner(undefined, 'soft:other-root'), org: 'Elsewhere' });
  const trust = loadTrust({ ...p.trust, rootCertPem: toPem(new Uint8Array(other.rawData)) });
  await t.rejects(readChipIdentity(dev(p.chips[0]!), trust), { code: 'ATCACERT_INVALID' }, 'signer signature does not verify with the pinned root key');
});

t.test('a device certificate altered in the chip fails its signature check', async (t) => {
  const p = await provisionChips(t, 1);
  const chip = p.chips[0]!;
  // Flip one bit of the compressed signature in the chip's state (slot 10 is locked to the host,
  // not to a tamperer with a probe).
  chip.state.slots[Slot.DEVICE_CERT]![5]! ^= 0x01;
  await t.rejects(readChipIdentity(dev(chip), loadTrust(p.trust)), { code: 'ATCACERT_INVALID' });
});

t.test('a blank part has no identity', async (t) => {
  const p = await provisionChips(t, 1);
  const { createBlankChip } = await import('../../emulator/atecc608/factory.js');
  const blank = createBlankChip();
  await t.rejects(readChipIdentity(dev(blank), loadTrust(p.trust)), { code: /ATCA/ });
});
