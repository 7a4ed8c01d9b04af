/**
 * The SE050 device's identity checks (firmware-sim/se050-identity.ts) on emulated parts holding
 * certificates from the server's SE050 profile (der-device-issuer.ts): the certificate read from
 * the chip's objects is accepted only when it chains to the pinned root, names this chip and
 * carries this chip's key; a part never provisioned has no identity. And openDeviceChip tells
 * the two chips' images apart by their format.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveChipImage } from '../../emulator/atecc608/image.js';
import { createBlankChip } from '../../emulator/atecc608/factory.js';
import { saveSe050Image } from '../../emulator/se050/image.js';
import { InProcessApduTransport } from '../../emulator/se050/in-process-apdu-transport.js';
import type { Se050Chip } from '../../emulator/se050/chip.js';
import { openDeviceChip, readDeviceIdentity } from '../../firmware-sim/device-chip.js';
import { loadTrust } from '../../firmware-sim/firmware-trust.js';
import { readSe050Identity } from '../../firmware-sim/se050-identity.js';
import { Se05xDevice } from '../../secure-element/se05x/se05x-device.js';
import { Se05xSecureElement } from '../../secure-element/se05x/se05x-secure-element.js';
import { createDerDeviceIssuer } from '../../server/ca/der-device-issuer.js';
import { makeTestPki, type TestPki } from '../secure-element/atcacert/ca-fixture.js';
import { newChip } from '../emulator/se050/helpers.js';

const seOf = (chip: Se050Chip) => new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(chip)));
const trustOf = (pki: TestPki) => loadTrust({ rootCertPem: pki.rootPem, issuingCertPem: pki.issuingPem, product: 'Sensor', validityYears: 0 });

/** A part with its key and a certificate (by default for its own serial and key; `certFor` to name others) written with `chain`. */
async function provisioned(pki: TestPki, o: { chain?: Uint8Array[]; certFor?: { serial?: Uint8Array; publicKey?: Uint8Array } } = {}) {
  const chip = await newChip();
  const se = seOf(chip);
  await se.prepare();
  const publicKey = await se.generateKey();
  const { serial } = await se.identity();
  const issuer = createDerDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 0 });
  const cert = await issuer.issue({ chip: 'se050', chipSerial: o.certFor?.serial ?? serial, publicKey: o.certFor?.publicKey ?? publicKey, product: 'Sensor', issuedAt: new Date() });
  await se.writeCertificates({ device: cert.der, chain: o.chain ?? [pki.issuingDer] });
  return { chip, se, serial, publicKey };
}

t.test('reads the DER certificate and chain from the objects and verifies them to the pinned root', async (t) => {
  const pki = await makeTestPki();
  const u = await provisioned(pki);
  const id = await readSe050Identity(u.se, trustOf(pki));
  t.match(id, { chip: 'se050', serialHex: Buffer.from(u.serial).toString('hex').toUpperCase(), counter: 0 });
  t.equal(id.serial.length, 18, 'the 18-byte unique id');
  t.same(id.publicKey, u.publicKey);
  t.same(id.signerDer, pki.issuingDer, 'the issuing CA from object 20000003');
  await u.se.counterIncrement();
  t.equal((await readSe050Identity(u.se, trustOf(pki))).counter, 1, 'the counter object');
});

t.test('refusals: another root, a certificate of another chip or key, a part never provisioned', async (t) => {
  const pki = await makeTestPki();
  const other = await makeTestPki();
  const u = await provisioned(pki);
  await t.rejects(readSe050Identity(u.se, trustOf(other)), { code: 'CHAIN_INVALID', message: /not a CA issued by the pinned root/ });
  const wrongChain = await provisioned(pki, { chain: [other.issuingDer] });
  await t.rejects(readSe050Identity(wrongChain.se, trustOf(pki)), { code: 'CHAIN_INVALID' }, 'a chain of another PKI');
  const donor = await provisioned(pki);
  const copied = await provisioned(pki, { certFor: { publicKey: donor.publicKey } });
  await t.rejects(readSe050Identity(copied.se, trustOf(pki)), { code: 'CHAIN_INVALID', message: /not chip .* device key/ }, 'a certificate for another key');
  const renamed = await provisioned(pki, { certFor: { serial: donor.serial } });
  await t.rejects(readSe050Identity(renamed.se, trustOf(pki)), { code: 'CHAIN_INVALID', message: /does not name chip/ }, 'a certificate naming another chip');
  const blank = seOf(await newChip());
  await blank.prepare();
  await t.rejects(readSe050Identity(blank, trustOf(pki)), { code: 'CHAIN_INVALID', message: /never provisioned/ });
});

t.test('openDeviceChip: the image format says which chip; anything else is CHIP_IMAGE_INVALID', async (t) => {
  const pki = await makeTestPki();
  const dir = t.testdir();
  const u = await provisioned(pki);
  await saveSe050Image(u.chip, join(dir, 'se.json'));
  await saveChipImage(createBlankChip(), join(dir, 'atecc.json'));
  const se = await openDeviceChip(join(dir, 'se.json'));
  t.equal(se.kind, 'se050');
  t.equal(se.se.chip, 'se050');
  t.match(await readDeviceIdentity(se, trustOf(pki)), { chip: 'se050', serialHex: Buffer.from(u.serial).toString('hex').toUpperCase() });
  const a = await openDeviceChip(join(dir, 'atecc.json'));
  t.equal(a.kind, 'atecc608');
  t.equal((await a.se.identity()).serial.length, 9);
  writeFileSync(join(dir, 'x.json'), JSON.stringify({ format: 'keyline-tpm-image' }));
  await t.rejects(openDeviceChip(join(dir, 'x.json')), { code: 'CHIP_IMAGE_INVALID', message: /format: "keyline-tpm-image" is not a chip image format/ });
  writeFileSync(join(dir, 'y.json'), 'not json');
  await t.rejects(openDeviceChip(join(dir, 'y.json')), { code: 'CHIP_IMAGE_INVALID' });
});
