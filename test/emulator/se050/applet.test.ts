/**
 * The SE050 model command by command through the host driver, and raw where the bytes matter:
 * SELECT and versions, management, curves, keys, binaries in chunks, counters (monotonic, across
 * image save/load), ReadIDList paging and the DeleteAll sequence, policies refusing what the
 * applet refuses.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { Ar, ObjectId } from '../../../common/se05x/applet-constants.js';
import { anySessionPolicy } from '../../../common/se05x/policy.js';
import { se050FromImage, se050Image } from '../../../emulator/se050/image.js';
import { ID_LIST_PAGE } from '../../../emulator/se050/commands/read.js';
import { Se050Policy } from '../../../secure-element/se05x/object-map.js';
import { hx, newChip, selectedDevice, send } from './helpers.js';
import { ecKeyPair } from '../../helpers/device-keys.js';

const message = Buffer.from('keyline');
const digest = createHash('sha256').update(message).digest();

t.test('SELECT answers the 7 version bytes per applet; commands before SELECT are refused', async (t) => {
  const chip = await newChip('3.1');
  t.equal(send(chip, '8004002000'), '6E00', 'not selected: the card manager knows no class 80');
  t.equal(send(chip, '00A4040010A000000396545300000001030000000000'), '0301006FFF010B9000');
  t.equal(send(chip, '8004002000'), '41070301006FFF010B9000', 'GetVersion in a TLV');
  t.equal(send(chip, '00A4040010A000000396545300000001030000000100'), '6A82', 'another AID: not found');
  const v72 = await newChip('7.2');
  t.equal(send(v72, '00A4040010A000000396545300000001030000000000'), '0702003FFF010B9000');
});

t.test('management: random, free memory, timestamp, exists, unknown commands', async (t) => {
  let now = 1_000_000;
  const { chip, dev } = await selectedDevice('3.1', { now: () => now });
  t.equal((await dev.getRandom(40)).length, 40);
  t.ok((await dev.freeMemory()) > 0x1000);
  const ts1 = await dev.timestamp();
  now += 1000;
  const ts2 = await dev.timestamp();
  t.equal(hx(ts1.subarray(0, 4)), hx(ts2.subarray(0, 4)), 'persistent half stays within a session');
  t.equal(Buffer.from(ts2.subarray(4)).readBigUInt64BE() - Buffer.from(ts1.subarray(4)).readBigUInt64BE(), 10n, '+1 per 100 ms');
  await dev.select();
  t.equal((await dev.timestamp()).subarray(0, 4)[3], ts1[3]! + 1, 'a new session moves the persistent half');
  t.equal(await dev.exists(ObjectId.UNIQUE_ID), true);
  t.equal(await dev.exists(0x12345678), false);
  t.equal(send(chip, '8009000000'), '6D00', 'unknown INS');
  t.equal(send(chip, '80040099 00'), '6A86', 'unknown P2');
  t.equal(send(chip, '84040020 00'), '6E00', 'CLA 84 (secure messaging) not supported');
  t.equal(send(chip, '800400'), '6700', 'three bytes: wrong length');
  t.equal(chip.internalErrors, 0);
});

t.test('UID and NXP-provisioned objects', async (t) => {
  const { chip, dev } = await selectedDevice();
  t.equal(hx(await dev.readObject(ObjectId.UNIQUE_ID)), hx(chip.uid));
  t.equal(send(chip, '8002000000000A41047FFF020643020012 0000'.replace(/ /g, '')), '4112' + hx(chip.uid) + '9000', 'the observed UID read');
  t.equal((await dev.readObject(ObjectId.ATTESTATION_KEY)).length, 65, 'attestation public key readable');
  await t.rejects(dev.deleteObject(ObjectId.UNIQUE_ID), { code: 'SE05X_DENIED', status: 0x6986 }, 'the UID never goes');
  await t.rejects(dev.deleteObject(ObjectId.ATTESTATION_KEY), { code: 'SE05X_DENIED', status: 0x6986 }, 'nor the attestation key');
  await t.rejects(dev.generateEcKey(0x7fff0300), { code: 'SE05X_DENIED' }, 'reserved ids cannot be created');
  t.same(await dev.readType(ObjectId.ATTESTATION_KEY), { type: 0x01, transient: false });
  t.same(await dev.readType(ObjectId.UNIQUE_ID), { type: 0x0b, transient: false });
});

t.test('curves: list, create, params (exact P-256 only), and keys need them', async (t) => {
  const { chip, dev } = await selectedDevice();
  t.equal(send(chip, '80020B2500'), '4111' + '01'.repeat(17) + '9000', 'no curve set on a new part');
  await t.rejects(dev.generateEcKey(0x20000001), { code: 'SE05X_DENIED', status: 0x6985 }, 'no key before P-256 exists');
  t.equal(send(chip, '80010B0403410103'), '9000');
  t.equal(send(chip, '80010B0403410103'), '6985', 'created twice');
  t.equal(send(chip, '80010B40' + '28' + '410103' + '420101' + '4320' + '00'.repeat(32)), '6A80', 'a wrong A is refused');
  await dev.ensureP256();
  t.equal(send(chip, '80020B2500').slice(0, 10), '4111010102', 'P-256 (id 3) now set');
  await dev.generateEcKey(0x20000001);
  t.equal(send(chip, '80020B3606410420000001'), '4101039000', 'GetECCurveId');
});

t.test('keys: generate inside, import, sign/verify, policies', async (t) => {
  const { chip, dev } = await selectedDevice();
  await dev.ensureP256();
  await dev.generateEcKey(0x20000001, Se050Policy.deviceKey);
  const pub = await dev.readObject(0x20000001);
  t.equal(pub[0], 0x04);
  t.equal(pub.length, 65, 'READ on a pair gives the public key only');
  const sig = await dev.sign(0x20000001, digest);
  const { createPublicKey, verify } = await import('node:crypto');
  const spki = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(pub.subarray(1, 33)).toString('base64url'), y: Buffer.from(pub.subarray(33)).toString('base64url') }, format: 'jwk' });
  t.ok(verify('sha256', message, { key: spki, dsaEncoding: 'der' }, sig), 'DER signature of SHA-256(message) verifies with node:crypto');
  await t.rejects(dev.verify(0x20000001, digest, sig), { code: 'SE05X_DENIED', status: 0x6986 }, 'sign-only key refuses verify');
  await t.rejects(dev.generateEcKey(0x20000001, Se050Policy.deviceKey), { code: 'SE05X_DENIED', status: 0x6985 }, 'a policy on an existing key: conditions not satisfied');
  t.equal(send(chip, '800161000941042000000142010' + '3'), '6986', 'regenerating without GEN is refused');
  await t.rejects(dev.deleteObject(0x20000001), { code: 'SE05X_DENIED', status: 0x6986 }, 'no DELETE in the policy');
  // A key whose DELETE right belongs to another party (auth object 7DA00001).
  await dev.generateEcKey(0x20000009, [{ authId: 0, ar: Ar.SIGN | Ar.READ | Ar.VERIFY }, { authId: 0x7da00001, ar: Ar.DELETE }]);
  await t.rejects(dev.deleteObject(0x20000009), { code: 'SE05X_DENIED', status: 0x6986 }, 'delete by the wrong party');
  t.equal(await dev.verify(0x20000009, digest, await dev.sign(0x20000009, digest)), true, 'a key with VERIFY verifies');
  t.equal(await dev.verify(0x20000009, digest, sig), false, "another key's signature is bad");
  // ex_policy's rule: everything but VERIFY.
  await dev.generateEcKey(0x20000010, anySessionPolicy(0x13f48000));
  await t.rejects(dev.verify(0x20000010, digest, await dev.sign(0x20000010, digest)), { code: 'SE05X_DENIED', status: 0x6986 });
  await dev.deleteObject(0x20000010);
  // Import: pair checked for matching halves, public key checked on the curve.
  const kp = ecKeyPair('P-256');
  const jwk = kp.privateKey.export({ format: 'jwk' });
  const d = Buffer.from(jwk.d!, 'base64url');
  const point = Uint8Array.from(Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]));
  await dev.importEcKey(0x20000020, { d, pub: point });
  await dev.importEcKey(0x20000021, { pub: point });
  t.equal(await dev.verify(0x20000021, digest, await dev.sign(0x20000020, digest)), true, 'imported pair signs, imported public key verifies');
  await t.rejects(dev.sign(0x20000021, digest), { code: 'SE05X_DENIED', status: 0x6985 }, 'a public key cannot sign');
  const bad = point.slice();
  bad[64]! ^= 1;
  await t.rejects(dev.importEcKey(0x20000022, { pub: bad }), { code: 'SE05X_STATUS_ERROR', status: 0x6a80 }, 'a point off the curve');
  await t.rejects(dev.importEcKey(0x20000023, { d, pub: (await dev.readObject(0x20000001)) }), { code: 'SE05X_STATUS_ERROR', status: 0x6a80 }, 'halves that do not match');
  t.equal(chip.internalErrors, 0);
});

t.test('binary files: create with size, chunks at offsets, windows, READ-only immutability', async (t) => {
  const { dev } = await selectedDevice('7.2');
  const data = Uint8Array.from({ length: 1800 }, (_, i) => i & 0xff);
  await dev.writeBinary(0x20000002, data);
  t.equal(hx(await dev.readBinary(0x20000002, 333)), hx(data), 'written in 500-byte chunks, read in 333-byte windows');
  t.equal(await dev.readSize(0x20000002), 1800);
  t.equal(hx(await dev.readObject(0x20000002, { offset: 10, length: 4 })), '0A0B0C0D');
  await t.rejects(dev.readObject(0x20000002, { offset: 1799, length: 2 }), { code: 'SE05X_STATUS_ERROR', status: 0x6a80 }, 'a window past the end');
  await t.rejects(dev.writeBinary(0x20000005, data, anySessionPolicy(Ar.READ)), { code: 'SE05X_DENIED', status: 0x6986 }, 'READ-only: the second chunk is refused');
  await dev.writeBinary(0x20000006, data.subarray(0, 400), anySessionPolicy(Ar.READ), 1000);
  t.equal((await dev.readBinary(0x20000006)).length, 400, 'READ-only written whole in the creating write');
});

t.test('counters: create, increment, set not below, monotonic across image save/load', async (t) => {
  const { chip, dev } = await selectedDevice();
  await dev.createCounter(0x20000004, 4, Se050Policy.counter);
  for (let i = 0; i < 5; i++) await dev.incrementCounter(0x20000004);
  t.equal(await dev.readCounter(0x20000004), 5n);
  t.equal(send(chip, '800108000C410420000004430400000003'), '6A80', 'setting it lower is refused');
  t.equal(send(chip, '800108000C410420000004430400000100'), '9000', 'setting it higher is fine');
  const json = JSON.parse(JSON.stringify(se050Image(chip)));
  const again = se050FromImage(json);
  const { InProcessApduTransport } = await import('../../../emulator/se050/in-process-apdu-transport.js');
  const { Se05xDevice } = await import('../../../secure-element/se05x/se05x-device.js');
  const dev2 = new Se05xDevice(new InProcessApduTransport(again));
  await dev2.select();
  t.equal(await dev2.readCounter(0x20000004), 256n, 'the value survives the image');
  await dev2.incrementCounter(0x20000004);
  t.equal(await dev2.readCounter(0x20000004), 257n, 'and goes on up');
  t.equal(send(again, '800108000C410420000004430400000010'), '6A80', 'still never down');
  await dev.createCounter(0x20000007, 1);
  await dev.transmit(Uint8Array.from(Buffer.from('80010800094104200000074301FF', 'hex')), 'set to max');
  await t.rejects(dev.incrementCounter(0x20000007), { code: 'SE05X_DENIED', status: 0x6985 }, 'a counter at its largest value stops');
  t.throws(() => se050FromImage({ ...json, objects: json.objects.map((o: { kind: string }) => (o.kind === 'counter' ? { ...o, value: '99999999999' } : o)) }), { code: 'CHIP_IMAGE_INVALID' });
});

t.test('ReadIDList pages and the DeleteAll sequence skips reserved ids', async (t) => {
  const { chip, dev } = await selectedDevice();
  for (let i = 0; i < ID_LIST_PAGE + 5; i++) await dev.createCounter(0x30000000 + i, 2);
  const first = send(chip, '80020025000007410200004201FF0000');
  t.equal(first.slice(0, 6), '410102', 'first page says more');
  const ids = await dev.listObjects();
  t.equal(ids.length, ID_LIST_PAGE + 5 + 3, 'every object over the pages (3 NXP-provisioned ones too)');
  const { deleted, kept } = await dev.deleteAll();
  t.equal(deleted.length, ID_LIST_PAGE + 5);
  t.same(kept, []);
  t.same((await dev.listObjects()).sort(), [ObjectId.UNIQUE_ID, ObjectId.ATTESTATION_KEY, ObjectId.ATTESTATION_CERT].sort(), 'reserved objects stay');
});

t.test('digest one-shot and the lock state', async (t) => {
  const { chip, dev } = await selectedDevice();
  t.equal(hx(await dev.sha256(Buffer.from('abc'))), hx(createHash('sha256').update('abc').digest()));
  t.equal(send(chip, '8004003E06410102420101'), '6982', 'transport lock needs its auth session');
});

t.test('faults and timing', async (t) => {
  let fire = false;
  const { chip } = await selectedDevice('3.1', { timing: true, faults: { errorRate: 0.5, rng: () => (fire ? 0 : 0.9) } });
  fire = true;
  const out = chip.transmit(Uint8Array.from(Buffer.from('8004002000', 'hex')));
  t.equal(hx(out.response!), '6F00', 'injected execution error');
  t.ok(out.execMs > 0, 'the timing model reports a time');
  const { chip: mute } = await selectedDevice('3.1', { faults: { noResponseRate: 1 } }).catch(() => ({ chip: undefined }));
  t.equal(mute, undefined, 'a chip that never answers cannot even be selected');
});
