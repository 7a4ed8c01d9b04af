import t from 'tap';
import { createHash, createPublicKey, diffieHellman, sign, verify, type KeyObject } from 'node:crypto';
import { AteccDevice, Zone, lockSummaryCrc } from '../../secure-element/device.js';
import { InProcessTransport } from '../../emulator/in-process-transport.js';
import { createBlankChip } from '../../emulator/atecc608/factory.js';
import type { Transport } from '../../secure-element/transport.js';
import { blankDevice, provision, provisionedDevice, TEST_CONFIG } from './fixtures.js';
import { ecKeyPair } from '../helpers/device-keys.js';

function nodeKey(xy: Uint8Array): KeyObject {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(xy.subarray(0, 32)), y: b64(xy.subarray(32)) }, format: 'jwk' });
}
function rawXY(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return Uint8Array.from([...Buffer.from(jwk.x!, 'base64url'), ...Buffer.from(jwk.y!, 'base64url')]);
}

/** Counts transport calls so the tests can see the wake/command/idle shape. */
function counting(inner: Transport) {
  const log: string[] = [];
  const tr: Transport = {
    wake: () => (log.push('wake'), inner.wake()),
    idle: () => (log.push('idle'), inner.idle()),
    sleep: () => (log.push('sleep'), inner.sleep()),
    transact: (p, ms) => (log.push(`t:${p[1]!.toString(16)}`), inner.transact(p, ms)),
    close: () => inner.close(),
  };
  return { tr, log };
}

t.test('blank part: info, serial, config zone, lock state, random test pattern', async (t) => {
  const { chip, device } = blankDevice();
  t.same([...(await device.info())], [0x00, 0x00, 0x60, 0x02]);
  t.same([...(await device.serialNumber())], [...chip.serialNumber]);
  const config = await device.readConfigZone();
  t.equal(config.length, 128);
  t.equal(config[87], 0x55);
  t.equal(await device.isLocked('config'), false);
  t.equal(await device.isLocked('data'), false);
  const r = await device.random();
  t.same([...r.subarray(0, 8)], [0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00], 'fixed pattern before config lock');
});

t.test('each call is wake, command(s), idle, as cryptoauthlib does', async (t) => {
  const { tr, log } = counting(new InProcessTransport(createBlankChip()));
  const dev = new AteccDevice(tr);
  await dev.info();
  t.same(log, ['wake', 't:30', 'idle']);
  log.length = 0;
  await dev.readConfigZone();
  t.same(log, ['wake', 't:2', 't:2', 't:2', 't:2', 'idle'], 'a multi-block read is one session');
});

t.test('writeConfigZone writes bytes 16-127 except word 21, then locks with the summary CRC', async (t) => {
  const { device } = blankDevice();
  await device.writeConfigZone(TEST_CONFIG);
  const config = await device.readConfigZone();
  t.same([...config.subarray(16, 84)], [...TEST_CONFIG.subarray(16, 84)]);
  t.same([...config.subarray(88)], [...TEST_CONFIG.subarray(88)]);
  t.same([...config.subarray(84, 88)], [0x00, 0x00, 0x55, 0x55], 'UserExtra, UserExtraAdd and lock bytes untouched');
  await t.rejects(device.lockConfigZone(lockSummaryCrc(config) ^ 1), { code: 'ATCA_EXECUTION_ERROR', status: 0x0f }, 'wrong CRC refused');
  t.equal(await device.isLocked('config'), false);
  await device.lockConfigZone(lockSummaryCrc(config));
  t.equal(await device.isLocked('config'), true);
  await t.rejects(device.write(Zone.CONFIG, 0, 1, 0, new Uint8Array(32)), { code: 'ATCA_EXECUTION_ERROR' }, 'config is read-only once locked');
  await t.rejects(device.lockConfigZone(), { code: 'ATCA_EXECUTION_ERROR' }, 'locks are one-way');
  await t.rejects(device.writeConfigZone(new Uint8Array(100)), { code: 'ATCA_BAD_PARAM' });
});

t.test('GenKey, public key, Sign checked by node, Verify external both ways', async (t) => {
  const { device } = await provisionedDevice();
  const pub = await device.genKey(0);
  t.equal(pub.length, 64);
  t.same([...(await device.getPublicKey(0))], [...pub]);
  const msg = Buffer.from('keyline');
  const digest = createHash('sha256').update(msg).digest();
  const sig = await device.signDigest(0, digest);
  t.ok(verify('sha256', msg, { key: nodeKey(pub), dsaEncoding: 'ieee-p1363' }, sig), 'node verifies the chip signature');
  t.equal(await device.verifyExtern(digest, sig, pub), true);
  const bad = Uint8Array.from(sig);
  bad[40]! ^= 1;
  t.equal(await device.verifyExtern(digest, bad, pub), false, 'miscompare is false, not an error');
  const { privateKey, publicKey } = ecKeyPair('P-256');
  const nodeSig = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  t.equal(await device.verifyExtern(digest, nodeSig, rawXY(publicKey)), true, 'chip verifies a node signature');
});

t.test('status bytes map to typed errors carrying the status', async (t) => {
  const { device } = blankDevice();
  await t.rejects(device.genKey(0), { code: 'ATCA_EXECUTION_ERROR', status: 0x0f }, 'GenKey before config lock');
  await t.rejects(device.signDigest(0, new Uint8Array(32)), { code: 'ATCA_EXECUTION_ERROR' });
  await t.rejects(device.readSlot(0), { code: 'ATCA_EXECUTION_ERROR' }, 'data zone unreadable before data lock');
  await t.rejects(device.selfTest(0x40), { code: 'ATCA_PARSE_ERROR', status: 0x03 }, 'reserved SelfTest bit');
  await t.rejects(device.signDigest(0, new Uint8Array(31)), { code: 'ATCA_BAD_PARAM' });
  await t.rejects(device.read(Zone.DATA, 0, 1, 0, 32), { code: 'ATCA_BAD_PARAM' }, 'a 32-byte read past a 36-byte slot is refused before the wire');
  await t.rejects(device.genKey(16), { code: 'ATCA_BAD_PARAM' });
});

t.test('a private key can never be read, by slot read or by word', async (t) => {
  const { device } = await provisionedDevice();
  await device.genKey(0);
  await t.rejects(device.readSlot(0), { code: 'ATCA_EXECUTION_ERROR' });
  await t.rejects(device.read(Zone.DATA, 0, 0, 1, 4), { code: 'ATCA_EXECUTION_ERROR' });
});

t.test('counters: read, increment, monotonic', async (t) => {
  const { device } = await provisionedDevice();
  t.equal(await device.counterRead(1), 0);
  t.equal(await device.counterIncrement(1), 1);
  t.equal(await device.counterIncrement(1), 2);
  t.equal(await device.counterRead(1), 2);
  t.equal(await device.counterRead(0), 0);
});

t.test('SHA-256, ECDH, SelfTest, nonce modes, UpdateExtra', async (t) => {
  const { device } = await provisionedDevice();
  for (const n of [0, 1, 63, 64, 65, 200]) {
    const data = Buffer.alloc(n, n);
    t.same(Buffer.from(await device.sha256(data)).toString('hex'), createHash('sha256').update(data).digest('hex'), `${n} bytes`);
  }
  const pub = await device.genKey(0);
  const peer = ecKeyPair('P-256');
  const secret = await device.ecdh(0, rawXY(peer.publicKey));
  t.same(Buffer.from(secret), diffieHellman({ privateKey: peer.privateKey, publicKey: nodeKey(pub) }), 'matches node ECDH');
  t.equal(await device.selfTest(), 0);
  t.equal((await device.nonceRandom(new Uint8Array(20))).length, 32);
  await device.nonceLoad(new Uint8Array(64), 'msgdigbuf');
  await t.rejects(device.nonceRandom(new Uint8Array(19)), { code: 'ATCA_BAD_PARAM' });
  await device.updateExtra(0, 0x5a);
  t.equal((await device.readConfigZone())[84], 0x5a);
  await t.rejects(device.updateExtra(0, 0x11), { code: 'ATCA_EXECUTION_ERROR' }, 'UserExtra is set once');
});

t.test('72-byte padded public keys and whole-slot writes round-trip', async (t) => {
  const { chip, device } = blankDevice();
  await device.writeConfigZone(TEST_CONFIG);
  await device.lockConfigZone();
  // Before the data lock every slot is writable; slot 8 (SlotConfig 0x44C4) is secret afterwards.
  const big = Uint8Array.from({ length: 416 }, (_, i) => i & 0xff);
  await device.writeSlot(8, big);
  t.same([...chip.state.slots[8]!], [...big], 'a 416-byte slot written as 13 blocks');
  await device.lockDataZone();
  // Slot 10 (SlotConfig 0x0F0F): clear read, always writable.
  const xy = Uint8Array.from({ length: 64 }, (_, i) => i + 1);
  await device.writePublicKeySlot(10, xy);
  t.same([...(await device.readPublicKeySlot(10))], [...xy]);
  const raw = await device.readSlot(10);
  t.same([...raw.subarray(0, 4)], [0, 0, 0, 0], 'pad before X');
  t.same([...raw.subarray(36, 40)], [0, 0, 0, 0], 'pad before Y');
  // The host refuses a read-back whose pad no chip holds for a stored key; a validation state is fine.
  chip.state.slots[10]![0] = 0x50;
  t.same([...(await device.readPublicKeySlot(10))], [...xy], 'validated key (top nibble 0x5)');
  chip.state.slots[10]![37] = 0x01;
  await t.rejects(device.readPublicKeySlot(10), { code: 'ATCA_BAD_RESPONSE' }, 'non-zero pad before Y');
  chip.state.slots[10]!.set(new Uint8Array(72).fill(0x11));
  await t.rejects(device.readPublicKeySlot(10), { code: 'ATCA_BAD_RESPONSE' }, 'not a stored key (e.g. a compressed certificate)');
  await t.rejects(device.readSlot(8), { code: 'ATCA_EXECUTION_ERROR' }, 'IsSecret slot unreadable after the data lock');
  await t.rejects(device.writePublicKeySlot(3, xy), { code: 'ATCA_BAD_PARAM' });
});

t.test('lockSlot and isSlotLocked', async (t) => {
  const { device } = await provisionedDevice();
  t.equal(await device.isSlotLocked(0), false);
  await device.lockSlot(0); // KeyConfig 0x0033: Lockable
  t.equal(await device.isSlotLocked(0), true);
  await t.rejects(device.genKey(0), { code: 'ATCA_EXECUTION_ERROR' }, 'no new key in a locked slot');
});

t.test('CRC faults are retried and succeed; a bounded number of attempts', async (t) => {
  let draws = 0;
  // crcErrorRate 1 on the first command's draws, then none: one fault then success.
  const chip = createBlankChip({ faults: { crcErrorRate: 0.5, rng: () => (draws++ < 2 ? 0 : 0.99) } });
  const dev = new AteccDevice(new InProcessTransport(chip));
  t.same([...(await dev.info())], [0, 0, 0x60, 0x02], 'recovered after an injected CRC error');
  const always = new AteccDevice(new InProcessTransport(createBlankChip({ faults: { crcErrorRate: 1, rng: () => 0 } })), { retries: 2 });
  await t.rejects(always.info(), { code: 'ATCA_CRC_ERROR' }, 'gives up after the retries');
  const mute = new AteccDevice(new InProcessTransport(createBlankChip({ faults: { noResponseRate: 1, rng: () => 0 } })), { retries: 1 });
  await t.rejects(mute.info(), { code: 'ATCA_WAKE_FAILED' });
});

t.test('under random wire faults every operation still succeeds or fails typed, and counters never skip', async (t) => {
  let seed = 7;
  const rng = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  const chip = createBlankChip({ faults: { crcErrorRate: 0.1, rng } });
  const dev = new AteccDevice(new InProcessTransport(chip), { retries: 6 });
  await provision(dev);
  const pub = await dev.genKey(0);
  // Counter 1: in this configuration counter 0 also counts the slot-0 key's uses (LimitedUse).
  let last = await dev.counterRead(1);
  for (let i = 0; i < 30; i++) {
    const d = createHash('sha256').update(String(i)).digest();
    t.ok(verifyMessage(pub, String(i), await dev.signDigest(0, d)), `signature ${i} verifies`);
    try {
      const v = await dev.counterIncrement(1);
      t.equal(v, last + 1, 'incremented exactly once');
      last = v;
    } catch (err) {
      // A garbled answer to an executed increment is not retried: the value may have moved on.
      t.match(err, { code: /^ATCA_(CRC_ERROR|COMM_ERROR)$/ });
      last = await dev.counterRead(1);
    }
  }
  t.equal(await dev.counterRead(1), last);
});

t.test('concurrent calls on one device are serialised (Nonce and Sign never interleave)', async (t) => {
  const { device } = await provisionedDevice();
  const pub = await device.genKey(0);
  const digests = Array.from({ length: 20 }, (_, i) => createHash('sha256').update(`m${i}`).digest());
  const sigs = await Promise.all(digests.map((d) => device.signDigest(0, d)));
  sigs.forEach((s, i) => t.ok(verifyMessage(pub, `m${i}`, s), `signature ${i} is over its own digest`));
});

/** Verifies a chip signature over SHA-256(message) with node. */
function verifyMessage(pub: Uint8Array, message: string, sig: Uint8Array): boolean {
  return verify('sha256', Buffer.from(message), { key: nodeKey(pub), dsaEncoding: 'ieee-p1363' }, sig);
}
