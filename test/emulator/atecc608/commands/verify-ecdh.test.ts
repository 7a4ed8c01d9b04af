import { createECDH, createHash, sign } from 'node:crypto';
import t from 'tap';
import { padPublicKey } from '../../../../common/atecc-public-key.js';
import { awakeBlank, configLockedChip, lockedChipWithKey, run, st } from '../helpers.js';
import { ecKeyPair } from '../../../helpers/device-keys.js';

const NONCE = 0x16;
const VERIFY = 0x45;
const ECDH = 0x43;

function nodeKey(): { xy: Uint8Array; signDigestOf: (msg: Buffer) => Uint8Array } {
  const { privateKey, publicKey } = ecKeyPair('P-256');
  const jwk = publicKey.export({ format: 'jwk' });
  const xy = new Uint8Array(Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]));
  return { xy, signDigestOf: (msg) => new Uint8Array(sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' })) };
}

t.test('Verify external: node signature matches, tampered one miscompares', async (t) => {
  const chip = configLockedChip();
  const k = nodeKey();
  const msg = Buffer.from('to verify');
  const sig = k.signDigestOf(msg);
  const digest = createHash('sha256').update(msg).digest();
  run(chip, NONCE, 0x03, 0, digest);
  t.equal(st(chip, VERIFY, 0x02, 0x0004, Buffer.concat([sig, k.xy])), 0x00, 'valid');
  run(chip, NONCE, 0x03, 0, digest);
  const bad = sig.slice();
  bad[10]! ^= 1;
  t.equal(st(chip, VERIFY, 0x02, 0x0004, Buffer.concat([bad, k.xy])), 0x01, 'miscompare');
  t.equal(st(chip, VERIFY, 0x02, 0x0004, Buffer.concat([sig, k.xy])), 0x0f, 'no valid TempKey');
  t.equal(st(chip, VERIFY, 0x02, 0x0005, Buffer.concat([sig, k.xy])), 0x03, 'unknown key type');
  t.equal(st(chip, VERIFY, 0x02, 0x0004, sig), 0x03, 'too short');
  t.equal(st(awakeBlank(), VERIFY, 0x02, 0x0004, Buffer.concat([sig, k.xy])), 0x0f, 'before config lock');
});

t.test('Verify stored: with the signer key in slot 11 (padded form)', async (t) => {
  const chip = configLockedChip();
  const k = nodeKey();
  const padded = padPublicKey(k.xy);
  run(chip, 0x12, 0x82, (0 << 8) | (11 << 3), padded.subarray(0, 32));
  run(chip, 0x12, 0x82, (1 << 8) | (11 << 3), padded.subarray(32, 64));
  // Before data lock only 32-byte writes: the short block 2 takes a 32-byte write, extra bytes dropped.
  const last = new Uint8Array(32);
  last.set(padded.subarray(64, 72));
  t.equal(st(chip, 0x12, 0x82, (2 << 8) | (11 << 3), last), 0x00);
  const msg = Buffer.from('stored');
  run(chip, NONCE, 0x03, 0, createHash('sha256').update(msg).digest());
  t.equal(st(chip, VERIFY, 0x00, 11, k.signDigestOf(msg)), 0x00);
  run(chip, NONCE, 0x03, 0, createHash('sha256').update('other').digest());
  t.equal(st(chip, VERIFY, 0x00, 11, k.signDigestOf(msg)), 0x01);
  run(chip, NONCE, 0x03, 0, createHash('sha256').update(msg).digest());
  t.equal(st(chip, VERIFY, 0x00, 10, k.signDigestOf(msg)), 0x0f, 'slot 10 holds no public key');
  // The chip reads X and Y only: pad bytes that are not zero change nothing (datasheet §"ECC Key Formatting").
  chip.state.slots[11]!.fill(0xff, 0, 4);
  chip.state.slots[11]!.fill(0x5a, 36, 40);
  run(chip, NONCE, 0x03, 0, createHash('sha256').update(msg).digest());
  t.equal(st(chip, VERIFY, 0x00, 11, k.signDigestOf(msg)), 0x00, 'a malformed pad is ignored');
});

t.test('ECDH: shared secret in clear equals node ECDH both ways', async (t) => {
  const { chip, pub } = lockedChipWithKey();
  const peer = createECDH('prime256v1');
  peer.generateKeys();
  const peerPub = peer.getPublicKey().subarray(1);
  const secret = run(chip, ECDH, 0x00, 0, peerPub).data;
  t.equal(secret.length, 32);
  t.same([...secret], [...peer.computeSecret(Buffer.concat([Buffer.of(4), pub]))]);
  t.same([...run(chip, ECDH, 0x0c, 0, peerPub).data], [...secret], 'mode 0x0C output buffer, clear');
  t.equal(st(chip, ECDH, 0x00, 0, new Uint8Array(64).fill(1)), 0x0f, 'point not on the curve');
  t.equal(st(chip, ECDH, 0x00, 10, peerPub), 0x0f, 'not a private key slot');
  t.equal(st(chip, ECDH, 0x02, 0, peerPub), 0x0f, 'encrypted output not modelled');
  t.equal(st(chip, ECDH, 0x00, 0, peerPub.subarray(0, 32)), 0x03, 'short key');
  chip.state.config[20] = 0x83; // ReadKey without the ECDH bit
  t.equal(st(chip, ECDH, 0x00, 0, peerPub), 0x0f, 'SlotConfig forbids ECDH');
});

t.test('Verify validate / invalidate a PubInfo public key against its parent', async (t) => {
  const { awakeBlank: blank, writeProvisioningConfig } = await import('../helpers.js');
  const chip = blank();
  writeProvisioningConfig(chip);
  // Slot 13: parent public key (KeyConfig 0x0030). Slot 14: child, PubInfo (0x0032), ReadKey 13, WriteConfig PubInvalid (0x100D).
  run(chip, 0x12, 0x00, (20 + 2 * 14) / 4, [0x0d, 0x10, 0x00, 0x00]);
  run(chip, 0x12, 0x00, (96 + 2 * 12) / 4, [0x3c, 0x00, 0x30, 0x00]);
  run(chip, 0x12, 0x00, (96 + 2 * 14) / 4, [0x32, 0x00, 0x3c, 0x00]);
  run(chip, 0x17, 0x80, 0);
  const parent = nodeKey();
  const child = nodeKey();
  const write72 = (slot: number, xy: Uint8Array) => {
    const p = padPublicKey(xy);
    for (let b = 0; b < 3; b++) {
      const blk = new Uint8Array(32);
      blk.set(p.subarray(b * 32, Math.min(72, b * 32 + 32)));
      t.equal(st(chip, 0x12, 0x82, (b << 8) | (slot << 3), blk), 0x00);
    }
  };
  write72(13, parent.xy);
  write72(14, child.xy);
  t.equal(chip.state.slots[14]![0]! >> 4, 0xa, 'Write leaves a PubInfo key invalidated');
  t.equal(chip.state.slots[13]![0], 0, 'a key without PubInfo keeps its pad as written');
  run(chip, 0x17, 0x81, 0);
  const msg = Buffer.from('child use');
  run(chip, NONCE, 0x03, 0, createHash('sha256').update(msg).digest());
  t.equal(st(chip, VERIFY, 0x00, 14, child.signDigestOf(msg)), 0x0f, 'not validated yet: stored Verify refused');

  const sn = chip.serialNumber;
  const prove = (invalidate: boolean) => {
    const nonce = createHash('sha256').update(`n${invalidate}`).digest();
    run(chip, NONCE, 0x03, 0, nonce);
    t.equal(st(chip, 0x40, 0x10, 14, [0, 0, 0]), 0x00, 'GenKey pubkey digest');
    const other = new Uint8Array(19);
    other[17] = invalidate ? 1 : 0;
    const pre = Buffer.concat([chip.state.tempKey.value.subarray(0, 32), Buffer.of(0x41), other.subarray(0, 10), Buffer.of(sn[8]!), other.subarray(10, 14), sn.subarray(0, 2), other.subarray(14)]);
    return Buffer.concat([parent.signDigestOf(pre), other]);
  };
  const data = prove(false);
  t.equal(st(chip, VERIFY, 0x07, 14, data), 0x0f, 'mode disagrees with OtherData[17]');
  t.equal(st(chip, VERIFY, 0x03, 14, prove(false)), 0x00, 'validated');
  t.equal(chip.state.slots[14]![0]! >> 4, 0x5);
  t.equal(st(chip, 0x12, 0x82, 14 << 3, new Uint8Array(32)), 0x0f, 'validated key cannot be overwritten');
  run(chip, NONCE, 0x03, 0, createHash('sha256').update(msg).digest());
  t.equal(st(chip, VERIFY, 0x00, 14, child.signDigestOf(msg)), 0x00, 'stored Verify with the validated key');
  const bad = prove(false);
  bad[3]! ^= 1;
  t.equal(st(chip, VERIFY, 0x03, 14, bad), 0x01, 'bad parent signature');
  t.equal(st(chip, VERIFY, 0x07, 14, prove(true)), 0x00, 'invalidated');
  t.equal(chip.state.slots[14]![0]! >> 4, 0xa);
  t.equal(st(chip, 0x12, 0x82, 14 << 3, new Uint8Array(32)), 0x00, 'invalidated key may be rewritten (PubInvalid)');
  const forged = new Uint8Array(32);
  forged[0] = 0x50;
  t.equal(st(chip, 0x12, 0x82, 14 << 3, forged), 0x00);
  t.equal(chip.state.slots[14]![0]! >> 4, 0xa, 'a pad claiming "validated" is stored as invalidated');
  run(chip, NONCE, 0x03, 0, createHash('sha256').update(msg).digest());
  t.equal(st(chip, VERIFY, 0x00, 14, child.signDigestOf(msg)), 0x0f, 'so stored Verify still refuses it');
});
