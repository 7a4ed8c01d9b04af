/**
 * Issue 14: the seven behaviours that differed from the chip, each framed exactly as
 * cryptoauthlib's calib_* function sends it (conformance/calib-host.ts) against the model.
 */
import { createHash, sign } from 'node:crypto';
import t from 'tap';
import { TEST_CONFIG } from '../../secure-element/fixtures.js';
import { awakeBlank } from './helpers.js';
import { CalibHost, chipExec } from './conformance/calib-host.js';
import { nonceTempKey, genDigData } from './conformance/atcah.js';
import { SLOT4_KEY, toStage } from './conformance/stages.js';
import { ecKeyPair } from '../../helpers/device-keys.js';

async function host(stage: 'unlocked' | 'config-locked' | 'locked') {
  const chip = awakeBlank();
  const h = new CalibHost(chipExec(chip));
  await toStage(h, stage);
  return { chip, h };
}

function nodeSigner() {
  const { privateKey, publicKey } = ecKeyPair('P-256');
  const jwk = publicKey.export({ format: 'jwk' });
  const xy = new Uint8Array(Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]));
  return { xy, sign: (m: Buffer) => new Uint8Array(sign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' })) };
}

t.test('fix 1: calib_write_config_zone ends with UpdateExtra on the unlocked part, and it succeeds', async (t) => {
  const { h, chip } = await host('unlocked');
  const statuses = await h.writeConfigZone(TEST_CONFIG);
  t.same(statuses, statuses.map(() => 0), 'every Write and both UpdateExtra answer 0x00');
  t.equal(chip.state.configLocked(), false);
  const cfg = TEST_CONFIG.slice();
  cfg[84] = 0x5a;
  t.equal((await h.updateExtra(0, cfg[84])).status, 0x00, 'UserExtra set before config lock');
  t.equal((await h.updateExtra(0, 0x11)).status, 0x0f, 'but only once');
});

t.test('fix 2 and 3: calib_verify_extern on an unlocked part; a point off the curve is 0x0F', async (t) => {
  const { h } = await host('unlocked');
  const k = nodeSigner();
  const msg = Buffer.from('issue 14');
  const digest = createHash('sha256').update(msg).digest();
  const sig = k.sign(msg);
  // calib_verify_extern on a 608: message into the message-digest buffer, Verify 0x22 key type 4.
  t.equal((await h.nonceLoad(0x40, digest)).status, 0x00);
  t.equal((await h.verify(0x22, 0x0004, sig, k.xy)).status, 0x00, 'verified on an unlocked part');
  const bad = sig.slice();
  bad[5]! ^= 1;
  t.equal((await h.verify(0x22, 0x0004, bad, k.xy)).status, 0x01, 'a wrong signature miscompares');
  const offCurve = k.xy.slice();
  offCurve[63]! ^= 1;
  t.equal((await h.verify(0x22, 0x0004, sig, offCurve)).status, 0x0f, 'a key off the curve is an execution error');
});

t.test('fix 4: calib_write_pubkey (three 32-byte blocks) and calib_read_pubkey after data lock', async (t) => {
  const { h } = await host('locked');
  const k = nodeSigner();
  t.same(await h.writePubkey(11, k.xy), [0, 0, 0], 'block 2 of a 72-byte slot takes a 32-byte write');
  t.same([...(await h.readPubkey(11))], [...k.xy], 'and reads back through a 32-byte read of block 2');
  t.equal((await h.readZone(2, 11, 3, 0, 32)).status, 0x03, 'block 3 does not exist');
});

t.test('fix 5: SelfTest mode bits: ECDSA 0x04 (datasheet), 0x02 and 0x3B (cryptoauthlib), 0 reads the failure map', async (t) => {
  const { h } = await host('unlocked');
  for (const mode of [0x04, 0x02, 0x01, 0x08, 0x10, 0x20, 0x3b, 0x3f, 0x00]) {
    const r = await h.selfTest(mode);
    t.same([...r.data], [0x00], `mode 0x${mode.toString(16)} passes`);
  }
  t.equal((await h.selfTest(0x40)).status, 0x03, 'bits 6-7 are reserved');
});

t.test('fix 6: SHA Update buffers a partial block (cryptoauthlib sha_context test)', async (t) => {
  const { h } = await host('unlocked');
  const five = Uint8Array.of(1, 2, 3, 4, 5);
  t.equal((await h.sha(0x00, 0)).status, 0x00);
  t.equal((await h.sha(0x01, 5, five)).status, 0x00, '5-byte update accepted');
  const ctx = (await h.sha(0x06, 0)).data;
  // The context cryptoauthlib's test documents: count, H0..H7 little-endian, the pending bytes.
  t.equal(Buffer.from(ctx).toString('hex'), '0500000067e6096a85ae67bb72f36e3c3af54fa57f520e518c68059babd9831f19cde05b0102030405');
  t.equal((await h.sha(0x01, 5, five)).status, 0x00);
  const d1 = (await h.sha(0xc2, 0)).data;
  t.same([...d1], [...createHash('sha256').update(Buffer.concat([five, five])).digest()]);
  t.equal((await h.sha(0x07, ctx.length, ctx)).status, 0x00, 'context written back');
  t.equal((await h.sha(0x01, 5, five)).status, 0x00);
  t.same([...(await h.sha(0xc2, 0)).data], [...d1], 'same digest from the restored context');
});

t.test('fix 7: GenDig over a data slot takes the 4 OtherData bytes calib_read_enc sends', async (t) => {
  const { h, chip } = await host('config-locked');
  // Slot 9 of the test configuration: IsSecret, EncryptRead, ReadKey 4.
  const secret = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  t.equal((await h.writeZone(2, 4, 0, 0, SLOT4_KEY)).status, 0x00);
  t.equal((await h.writeZone(2, 9, 0, 0, secret)).status, 0x00);
  t.equal((await h.lock(0x81)).status, 0x00);
  const sn = chip.serialNumber;
  const numIn = new Uint8Array(20).fill(3);
  const randOut = (await h.nonceRand(numIn)).data;
  t.equal((await h.genDig(2, 4, [0x15, 0x02, 0x04, 0x00])).status, 0x00, 'GenDig with OtherData');
  const tk = genDigData(nonceTempKey(randOut, numIn), SLOT4_KEY, 4, sn);
  const enc = (await h.readZone(2, 9, 0, 0, 32)).data;
  t.same([...enc.map((b, i) => b ^ tk[i]!)], [...secret], 'the encrypted read decrypts with the host TempKey');
  t.same([...(await h.readEnc(9, 0, SLOT4_KEY, 4)).data], [...secret], 'calib_read_enc end to end');
  t.equal((await h.genDig(2, 4, [1, 2, 3])).status, 0x03, 'OtherData is 4 bytes');
});

t.test('the timing model covers the new commands (cryptoauthlib calib_execution.c, 608 at M0)', async (t) => {
  const { encodeCommand } = await import('../../../secure-element/packet.js');
  const chip = awakeBlank({ timing: true });
  // AES 27, KDF 165, SecureBoot 80, DeriveKey 50, PrivWrite 50 ms: reported even when refused.
  for (const [op, ms] of [[0x51, 27], [0x56, 165], [0x80, 80], [0x1c, 50], [0x46, 50]] as const) {
    t.equal(chip.execute(encodeCommand({ opcode: op, param1: 0, param2: 0, data: new Uint8Array() })).execMs, ms, `opcode 0x${op.toString(16)}: ${ms} ms`);
  }
});
