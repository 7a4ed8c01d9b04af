import { execFileSync } from 'node:child_process';
import { createHash, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { padPublicKey } from '../../../../common/atecc-public-key.js';
import { ecdsaSigValue } from '../../../../common/der/writer.js';
import { verifyDigest } from '../../../../emulator/atecc608/ecc.js';
import { configLockedChip, lockedChipWithKey, publicKeyObject, run, st } from '../helpers.js';

const NONCE = 0x16;
const SIGN = 0x41;
const GENKEY = 0x40;

t.test('Nonce random mode: TempKey = SHA-256(RandOut || NumIn || 16 || mode || LSB(param2))', async (t) => {
  const { chip } = lockedChipWithKey();
  const numIn = new Uint8Array(20).map((_, i) => i);
  const randOut = run(chip, NONCE, 0x00, 0, numIn).data;
  t.equal(randOut.length, 32);
  const expected = createHash('sha256').update(randOut).update(numIn).update(Uint8Array.of(0x16, 0x00, 0x00)).digest();
  t.same([...chip.state.tempKey.value.subarray(0, 32)], [...expected]);
  t.equal(chip.state.tempKey.sourceFlag, 0, 'SourceFlag random');
  t.equal(st(chip, SIGN, 0x80, 0), 0x0f, 'external Sign refuses a random-nonce TempKey');
});

t.test('Nonce pass-through 32 and 64 bytes, and targets', async (t) => {
  const chip = configLockedChip();
  t.equal(st(chip, NONCE, 0x03, 0, new Uint8Array(32).fill(9)), 0x00);
  t.ok(chip.state.tempKey.valid);
  t.equal(chip.state.tempKey.sourceFlag, 1);
  t.equal(st(chip, NONCE, 0x23, 0, new Uint8Array(64).fill(8)), 0x00, '64-byte pass-through');
  t.equal(chip.state.tempKey.value[63], 8);
  t.equal(st(chip, NONCE, 0x23, 0, new Uint8Array(32)), 0x03, '64-byte mode with 32 bytes');
  t.equal(st(chip, NONCE, 0x43, 0, new Uint8Array(32).fill(7)), 0x00, 'to the message-digest buffer');
  t.equal(chip.state.msgDigestBuf?.[0], 7);
  t.equal(st(chip, NONCE, 0x83, 0, new Uint8Array(32)), 0x00, 'to the alternate key buffer');
  t.equal(st(chip, NONCE, 0xc3, 0, new Uint8Array(32)), 0x03, 'target 0xC0 invalid');
});

t.test('external Sign over a pass-through digest verifies with node:crypto', async (t) => {
  const { chip, pub } = lockedChipWithKey();
  const key = publicKeyObject(pub);
  for (let i = 0; i < 20; i++) {
    const msg = Buffer.from(`message ${i}`);
    t.equal(st(chip, NONCE, 0x03, 0, createHash('sha256').update(msg).digest()), 0x00);
    const sig = run(chip, SIGN, 0x80, 0).data;
    t.equal(sig.length, 64);
    t.ok(verify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, sig), `signature ${i} verifies`);
  }
  t.equal(st(chip, SIGN, 0x80, 0), 0x0f, 'TempKey consumed: a second Sign needs a new Nonce');
  t.equal(st(chip, SIGN, 0x80, 10), 0x0f, 'Sign with a non-key slot');
});

t.test('external Sign verifies with openssl', async (t) => {
  const { chip, pub } = lockedChipWithKey();
  const dir = t.testdir();
  const msg = Buffer.from('keyline openssl cross-check');
  run(chip, NONCE, 0x03, 0, createHash('sha256').update(msg).digest());
  const sig = run(chip, SIGN, 0x80, 0).data;
  const der = ecdsaSigValue(sig);
  writeFileSync(join(dir, 'msg'), msg);
  writeFileSync(join(dir, 'sig'), der);
  writeFileSync(join(dir, 'pub.pem'), publicKeyObject(pub).export({ type: 'spki', format: 'pem' }));
  const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig'), join(dir, 'msg')]).toString();
  t.match(out, /Verified OK/);
});

t.test('Sign from the message-digest buffer', async (t) => {
  const { chip, pub } = lockedChipWithKey();
  const digest = createHash('sha256').update('mdb').digest();
  run(chip, NONCE, 0x43, 0, digest);
  const sig = run(chip, SIGN, 0xa0, 0).data;
  t.ok(verifyDigest(pub, digest, sig));
});

t.test('GenKey: P-256 key, public recompute, refusals', async (t) => {
  const chip = configLockedChip();
  const pub = run(chip, GENKEY, 0x04, 0).data.slice();
  t.equal(pub.length, 64);
  t.doesNotThrow(() => publicKeyObject(pub), 'a point node accepts');
  t.same([...run(chip, GENKEY, 0x00, 0).data], [...pub], 'mode 0 recomputes the same public key');
  const pub2 = run(chip, GENKEY, 0x04, 0).data;
  t.notSame([...pub2], [...pub], 'before slot lock a new GenKey replaces the key');
  t.equal(st(chip, GENKEY, 0x04, 10), 0x0f, 'KeyType 7 slot refused');
  t.equal(st(chip, GENKEY, 0x04, 11), 0x0f, 'public-key slot (Private 0) refused');
  t.equal(st(chip, GENKEY, 0x01, 0), 0x03, 'reserved mode bit');
  t.equal(st(chip, GENKEY, 0x04, 0, [1]), 0x03, 'unexpected data');
  t.equal(st(chip, GENKEY, 0x0c, 0), 0x0f, 'digest mode needs a valid TempKey');
});

t.test('GenKey refused after data lock when WriteConfig lacks the GenKey bit', async (t) => {
  const { chip } = lockedChipWithKey();
  t.equal(run(chip, GENKEY, 0x04, 0).data.length, 64, 'slot 0 (WriteConfig 0x2) allows GenKey after lock');
  // Slot 1 in the provisioning map is a data slot; a private slot without GenKey bit:
  chip.state.config[20 + 2] = 0x87; // SlotConfig slot 1 = 0x0087 (WriteConfig 0)
  chip.state.config[21 + 2] = 0x00;
  chip.state.config[96 + 2] = 0x33;
  chip.state.config[97 + 2] = 0x00;
  t.equal(st(chip, GENKEY, 0x04, 1), 0x0f);
});

t.test('GenKey digest and internal Sign reproduce the attestation messages', async (t) => {
  const { chip, pub } = lockedChipWithKey();
  const nonce = createHash('sha256').update('attest').digest();
  run(chip, NONCE, 0x03, 0, nonce);
  const pub2 = run(chip, GENKEY, 0x08, 0).data;
  t.same([...pub2], [...pub]);
  const sn = chip.serialNumber;
  const msg = new Uint8Array(128);
  msg.set(nonce, 0);
  msg.set([0x40, 0x08, 0, 0, sn[8]!, sn[0]!, sn[1]!], 32);
  msg.set(pub, 64);
  const digest = createHash('sha256').update(msg).digest();
  t.same([...chip.state.tempKey.value.subarray(0, 32)], [...digest], 'TempKey = SHA-256 of the 128-byte GenKey message');
  t.ok(chip.state.tempKey.genKeyData);
  // Internal sign with slot 0 itself (ReadKey bit 1 set).
  const sig = run(chip, SIGN, 0x00, 0).data;
  const m = new Uint8Array(55);
  m.set(digest, 0);
  m.set([0x41, 0x00, 0x00, 0x00], 32);
  m.set(chip.state.config.subarray(20, 22), 36);
  m.set(chip.state.config.subarray(96, 98), 38);
  m[40] = 0x40 | 0x10; // GenKeyData, SourceFlag (pass-through nonce) , KeyId 0
  m[43] = sn[8]!;
  m.set(sn.subarray(0, 2), 48);
  m[52] = 0x01; // slot 0 still unlocked
  t.ok(verifyDigest(pub, createHash('sha256').update(m).digest(), sig), 'internal signature over the 55-byte message');
  t.equal(st(chip, SIGN, 0x00, 0), 0x0f, 'internal Sign needs a GenKey/GenDig TempKey');
});

t.test('Sign throughput with timing off is at least 2,000/s', async (t) => {
  const { chip } = lockedChipWithKey();
  const digest = createHash('sha256').update('x').digest();
  // CPU time, not wall time: the machine is shared, and the floor is about the model's cost.
  const c0 = process.cpuUsage();
  const n = 1000;
  for (let i = 0; i < n; i++) {
    run(chip, NONCE, 0x03, 0, digest);
    run(chip, SIGN, 0x80, 0);
  }
  const c = process.cpuUsage(c0);
  const perSec = n / ((c.user + c.system) / 1e6);
  t.ok(perSec >= 2000, `${Math.round(perSec)} Sign/s`);
});

t.test('GenKey mode 0x10 digests the stored public key with OtherData', async (t) => {
  const { chip, pub } = lockedChipWithKey();
  const padded = padPublicKey(pub);
  run(chip, 0x12, 0x82, 11 << 3, padded.subarray(0, 32));
  run(chip, 0x12, 0x82, (1 << 8) | (11 << 3), padded.subarray(32, 64));
  run(chip, 0x12, 0x02, (2 << 8) | (11 << 3), padded.subarray(64, 68));
  run(chip, 0x12, 0x02, (2 << 8) | (11 << 3) | 1, padded.subarray(68, 72));
  const nonce = new Uint8Array(32).fill(0x0d);
  t.equal(st(chip, GENKEY, 0x10, 11, [1, 2, 3]), 0x0f, 'needs a valid TempKey');
  run(chip, NONCE, 0x03, 0, nonce);
  t.equal(st(chip, GENKEY, 0x10, 11, [1, 2, 3]), 0x00);
  const sn = chip.serialNumber;
  const msg = new Uint8Array(128);
  msg.set(nonce, 0);
  msg.set([0x40, 1, 2, 3, sn[8]!, sn[0]!, sn[1]!], 32);
  msg.set(pub, 64);
  t.same([...chip.state.tempKey.value.subarray(0, 32)], [...createHash('sha256').update(msg).digest()]);
  t.equal(st(chip, GENKEY, 0x10, 11, [1, 2]), 0x03, 'OtherData must be 3 bytes');
  run(chip, NONCE, 0x03, 0, nonce);
  t.equal(st(chip, GENKEY, 0x10, 10, [1, 2, 3]), 0x0f, 'not a public key slot');
});
