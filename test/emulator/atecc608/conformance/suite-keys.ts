/**
 * Conformance, key-writing families: PrivWrite in clear and encrypted (calib_priv_write),
 * encrypted Write and Read (calib_write_enc / calib_read_enc), DeriveKey in Roll and Create form
 * with and without the MAC (cryptoauthlib's derivekey and derivekey_mac tests, checked with
 * CheckMac), limited-use keys against counter 0 and CountMatch with UpdateExtra 0x02.
 */
import type { Test } from 'tap';
import { checkMacResponse, deriveKey, deriveKeyMac, nonceTempKey } from './atcah.js';
import { hostAt, hostKey, type MakeTransport } from './fixtures.js';
import { SLOT4_KEY } from './stages.js';

const counter = (b: Uint8Array) => b[0]! | (b[1]! << 8) | (b[2]! << 16);

/** Runs the key-writing families against `make`. */
export function keysSuite(t: Test, make: MakeTransport): void {
  t.test('PrivWrite (0x46): cryptoauthlib priv_write_unencrypted / priv_write_encrypted and their key vector', async (t) => {
    // The private key and public key cryptoauthlib's privwrite tests write and expect back.
    const vecPriv = Uint8Array.from(Buffer.from('00000000878f0ab6a526d7111c26e6170810796e7b33007f832b8d64467ed6f870537a19', 'hex'));
    const vecPub = Buffer.from('8f8d182bd819048582a9927ea0c56defb4159548e11ca5f7abac45bbce76815b' + 'e5c64fcd2fd12698544de0379517266660730461' + '19ad5e11a90aa49773aeac86', 'hex');
    const v = await hostAt(t, make, 'config-locked');
    t.equal((await v.privWrite(0, vecPriv)).status, 0x00, 'priv_write_unencrypted: slot 0');
    t.same([...(await v.genKey(0x00, 0)).data], [...vecPub], 'atcab_get_pubkey gives the reference public key');
    const vl = await hostAt(t, make, 'locked');
    t.equal((await vl.privWrite(7, vecPriv, 4, SLOT4_KEY)).status, 0x00, 'priv_write_encrypted: slot 7, write key 4');
    t.same([...(await vl.genKey(0x00, 7)).data], [...vecPub], 'the reference public key again');
    t.equal((await (await hostAt(t, make, 'unlocked')).privWrite(0, new Uint8Array(36))).status, 0x0f, 'unlocked: refused');
    const c = await hostAt(t, make, 'config-locked');
    const k = hostKey();
    const priv = new Uint8Array(36);
    priv.set(k.d, 4);
    t.equal((await c.privWrite(0, priv)).status, 0x00, 'clear PrivWrite into slot 0');
    t.same([...(await c.genKey(0x00, 0)).data], [...k.xy], 'GenKey public: the written key');
    t.equal((await c.privWrite(9, priv)).status, 0x0f, 'slot 9 is not a private-key slot');
    const h = await hostAt(t, make, 'locked');
    t.equal((await h.privWrite(7, priv)).status, 0x0f, 'clear after data lock refused');
    t.equal((await h.privWrite(7, priv, 4, SLOT4_KEY)).status, 0x00, 'encrypted into slot 7 (WriteConfig Encrypt, WriteKey 4)');
    t.same([...(await h.genKey(0x00, 7)).data], [...k.xy], 'slot 7 holds the key');
    t.equal((await h.privWrite(7, priv, 4, new Uint8Array(32).fill(1))).status, 0x01, 'a wrong write key: MAC miscompare');
    t.equal((await h.privWrite(0, priv, 4, SLOT4_KEY)).status, 0x0f, 'slot 0 (WriteConfig 0010) takes no PrivWrite');
    t.equal((await h.exec(0x46, 0x40, 7, new Uint8Array(36))).status, 0x03, 'count 75 only');
  });

  t.test('Encrypted Write and Read (param1 bit 6, calib_write_enc / calib_read_enc) on slot 9', async (t) => {
    const h = await hostAt(t, make, 'locked');
    const value = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
    t.equal((await h.writeZone(2, 9, 0, 0, value)).status, 0x0f, 'a clear write to an Encrypt slot refused');
    t.equal((await h.writeEnc(9, 0, value, SLOT4_KEY, 4)).status, 0x00, 'calib_write_enc');
    t.equal((await h.readZone(2, 9, 0, 0, 32)).status, 0x0f, 'no clear read of an IsSecret slot');
    t.same([...(await h.readEnc(9, 0, SLOT4_KEY, 4)).data], [...value], 'calib_read_enc round trip');
    t.equal((await h.writeEnc(9, 0, value, new Uint8Array(32), 4)).status, 0x01, 'wrong key: MAC miscompare');
    t.equal((await h.writeEnc(9, 0, value, SLOT4_KEY, 6)).status, 0x0f, 'TempKey from the wrong key id');
    // write_enc_data_unlock: before data lock bit 6 alone says the data is encrypted; CheckMac proves it.
    const c = await hostAt(t, make, 'config-locked');
    t.equal((await c.writeZone(2, 4, 0, 0, SLOT4_KEY)).status, 0x00, 'write_slot4_key');
    t.equal((await c.writeEnc(8, 0, value, SLOT4_KEY, 4)).status, 0x00, 'calib_write_enc into slot 8 with the data zone unlocked');
    const sn = await c.serialNumber();
    const chal = new Uint8Array(32).fill(0x10);
    t.equal((await c.checkMac(0x00, 8, chal, checkMacResponse(0x00, value, chal, new Uint8Array(13), sn), new Uint8Array(13))).status, 0x00, 'slot 8 holds the plaintext');
    t.equal((await c.exec(0x12, 0xc2, 8 << 3, new Uint8Array(64))).status, 0x0f, 'without a session: refused');
    t.equal((await c.exec(0x12, 0xc2, 0 << 3, new Uint8Array(64))).status, 0x0f, 'never into a private key slot');
  });

  t.test('DeriveKey (0x1C): cryptoauthlib derivekey (Roll, slot 9) and derivekey_mac (Create, slot 3)', async (t) => {
    const h = await hostAt(t, make, 'locked');
    const sn = await h.serialNumber();
    const parent = Uint8Array.from(Buffer.from('55e1e19753f8ee0b204b9709fdd0f0f975146021cc5f967da1e130feedb0fe87', 'hex'));
    const seed = Uint8Array.from(Buffer.from('e51eb3cb5d2759fa03d888bb543535b674251021', 'hex'));
    const challenge = new Uint8Array(32).fill(0x10);
    const other = new Uint8Array(13);
    // CheckMac mode 0 takes the challenge from the data; the random Nonce before it is the test's.
    const checkDerived = async (slot: number, key: Uint8Array) => {
      await h.nonceRand(seed);
      return (await h.checkMac(0x00, slot, challenge, checkMacResponse(0x00, key, challenge, other, sn), other)).status;
    };
    t.equal((await h.writeEnc(9, 0, parent, SLOT4_KEY, 4)).status, 0x00);
    let tk = nonceTempKey((await h.nonceRand(seed)).data, seed);
    t.equal((await h.deriveKey(0x00, 9)).status, 0x00, 'Roll, no MAC');
    t.equal(await checkDerived(9, deriveKey(parent, 0x00, 9, sn, tk)), 0x00, 'CheckMac proves the derived key');
    tk = nonceTempKey((await h.nonceRand(seed)).data, seed);
    t.equal((await h.deriveKey(0x00, 3)).status, 0x0f, 'slot 3 requires the MAC');
    tk = nonceTempKey((await h.nonceRand(seed)).data, seed);
    t.equal((await h.deriveKey(0x00, 3, new Uint8Array(32))).status, 0x01, 'a wrong MAC miscompares');
    tk = nonceTempKey((await h.nonceRand(seed)).data, seed);
    t.equal((await h.deriveKey(0x00, 3, deriveKeyMac(SLOT4_KEY, 0x00, 3, sn))).status, 0x00, 'Create from WriteKey 4 with atcah_derive_key_mac');
    t.equal(await checkDerived(3, deriveKey(SLOT4_KEY, 0x00, 3, sn, tk)), 0x00, 'CheckMac proves it');
    await h.nonceRand(seed);
    t.equal((await h.deriveKey(0x04, 9)).status, 0x0f, 'mode bit 2 must match TempKey.SourceFlag');
    t.equal((await h.deriveKey(0x00, 0)).status, 0x0f, 'no DeriveKey into a private key');
    t.equal((await h.deriveKey(0x01, 9)).status, 0x03, 'mode bits other than 2 reserved');
  });

  t.test('Limited use: cryptoauthlib counter_match (slot-0 key against the count match in slot 10), UpdateExtra 0x02', async (t) => {
    const h = await hostAt(t, make, 'locked');
    const pub = (await h.genKey(0x04, 0)).data;
    t.equal(pub.length, 64, 'GenKey is not a use');
    const digest = new Uint8Array(32).fill(3);
    await h.nonceLoad(0x00, digest);
    t.equal((await h.sign(0x80, 0)).status, 0x0f, 'slot 10 empty: count match 0, the key is spent');
    let c0 = counter((await h.counter(0x00, 0)).data);
    while (c0 % 32 < 31) c0 = counter((await h.counter(0x01, 0)).data);
    const match = c0 + 1;
    const slot = new Uint8Array(32);
    new DataView(slot.buffer).setUint32(0, match, true);
    new DataView(slot.buffer).setUint32(4, match, true);
    t.same(await h.writeBytesZone(2, 10, 0, slot), [0], 'atcah_encode_counter_match into slot 10');
    await h.nonceLoad(0x00, digest);
    const sig = (await h.sign(0x80, 0)).data;
    t.equal(sig.length, 64, 'one Sign left');
    t.equal(counter((await h.counter(0x00, 0)).data), match, 'counter 0 now at the match value');
    await h.nonceLoad(0x40, digest);
    t.equal((await h.verify(0x22, 0x0004, sig, pub)).status, 0x00, 'and the signature verifies');
    await h.nonceLoad(0x00, digest);
    t.equal((await h.sign(0x80, 0)).status, 0x0f, 'the next Sign is refused');
    t.equal(counter((await h.counter(0x00, 0)).data), match, 'counter 0 unchanged');
    t.equal((await h.updateExtra(0x02, 0)).status, 0x0f, 'UpdateExtra 0x02 refused at the limit too');
    new DataView(slot.buffer).setUint32(0, match + 32, true);
    new DataView(slot.buffer).setUint32(4, match + 32, true);
    await h.writeBytesZone(2, 10, 0, slot);
    t.equal((await h.updateExtra(0x02, 0)).status, 0x00, 'UpdateExtra 0x02 spends one use');
    t.equal(counter((await h.counter(0x00, 0)).data), match + 1);
    t.equal((await h.updateExtra(0x02, 9)).status, 0x0f, 'slot 9 is not limited');
    t.equal((await h.exec(0x08, 0x00, 9, new Uint8Array(32))).status, undefined, 'unlimited keys do not count');
    t.equal(counter((await h.counter(0x00, 0)).data), match + 1);
    t.equal((await h.updateExtra(0x03, 0)).status, 0x03, 'mode 3 does not exist');
  });
}
