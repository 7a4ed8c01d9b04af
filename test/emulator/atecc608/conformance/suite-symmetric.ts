/**
 * Conformance, symmetric families: AES (ECB with TempKey and slot keys, GFM), KDF (PRF, AES,
 * HKDF; every target; encrypted output), SHA (partial updates, context save/restore, public-key
 * mode, HMAC from TempKey), Nonce param2 bit 15, GenDig's zones, Info mode 0x04 with a
 * PersistentDisable key; each as cryptoauthlib frames it, on the stages it needs.
 */
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import type { Test } from 'tap';
import { checkMacResponse, ioDecrypt, nonceTempKey, sha } from './atcah.js';
import type { CalibHost } from './calib-host.js';
import { GCM_CASE_4, GCM_GFM, hostAt, hostKey, KDF_VECTORS, NIST_ECB, tempKeyIs, type MakeTransport } from './fixtures.js';
import { SLOT4_KEY } from './stages.js';

const TEMPKEY = 0xffff;

function aesEcb(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(block));
}

/**
 * AES-GCM encryption the way cryptoauthlib's calib_aes_gcm builds it on the host: every block
 * cipher call is the chip's AES (key in TempKey) and every GHASH step the chip's GFM.
 */
async function chipGcm(h: CalibHost, iv: Uint8Array, aad: Uint8Array, plain: Uint8Array): Promise<{ cipher: Uint8Array; tag: Uint8Array }> {
  const enc = async (block: Uint8Array) => (await h.aes(0x00, TEMPKEY, block)).data;
  const gfm = async (x: Uint8Array, y: Uint8Array) => (await h.aes(0x03, 0, Buffer.concat([x, y]))).data;
  const H = await enc(new Uint8Array(16));
  const ctr = (i: number) => {
    const b = new Uint8Array(16);
    b.set(iv);
    new DataView(b.buffer).setUint32(12, i);
    return b;
  };
  let x: Uint8Array = new Uint8Array(16);
  const absorb = async (data: Uint8Array) => {
    for (let at = 0; at < data.length; at += 16) {
      const block = new Uint8Array(16);
      block.set(data.subarray(at, at + 16));
      x = await gfm(H, x.map((b, i) => b ^ block[i]!));
    }
  };
  const cipher = new Uint8Array(plain.length);
  for (let at = 0, i = 2; at < plain.length; at += 16, i++) {
    const ks = await enc(ctr(i));
    for (let j = at; j < Math.min(at + 16, plain.length); j++) cipher[j] = plain[j]! ^ ks[j - at]!;
  }
  await absorb(aad);
  await absorb(cipher);
  const lens = new Uint8Array(16);
  new DataView(lens.buffer).setUint32(4, aad.length * 8);
  new DataView(lens.buffer).setUint32(12, plain.length * 8);
  await absorb(lens);
  const e0 = await enc(ctr(1));
  return { cipher, tag: x.map((b, i) => b ^ e0[i]!) };
}

/** Runs the symmetric families against `make`. */
export function symmetricSuite(t: Test, make: MakeTransport): void {
  t.test('AES (0x51): NIST SP 800-38A ECB with TempKey keys, GFM, and the stage rules', async (t) => {
    const blank = await hostAt(t, make, 'unlocked');
    t.equal((await blank.aes(0x00, TEMPKEY, NIST_ECB.plain.subarray(0, 16))).status, 0x0f, 'unlocked: refused');
    const h = await hostAt(t, make, 'config-locked');
    // aes_encrypt_key_tempkey: four keys in a 64-byte TempKey, key block in mode bits 6-7.
    const keys = new Uint8Array(64);
    keys.set(NIST_ECB.key, 0);
    for (let i = 16; i < 64; i++) keys[i] = i * 5;
    t.equal((await h.nonceLoad(0x00, keys)).status, 0x00);
    for (let block = 0; block < 4; block++) {
      const p = NIST_ECB.plain.subarray(block * 16, block * 16 + 16);
      t.same([...(await h.aes(0x00, TEMPKEY, p)).data], [...NIST_ECB.cipher.subarray(block * 16, block * 16 + 16)], `NIST ECB block ${block}`);
      const key = keys.subarray(block * 16, block * 16 + 16);
      const c = aesEcb(key, p);
      t.same([...(await h.aes(0x00 | (block << 6), TEMPKEY, p)).data], [...c], `encrypt with key block ${block}`);
      t.same([...(await h.aes(0x01 | (block << 6), TEMPKEY, c)).data], [...p], `decrypt with key block ${block}`);
    }
    t.same([...(await h.aes(0x03, 0, Buffer.concat([GCM_GFM.h, GCM_GFM.x]))).data], [...GCM_GFM.product], 'GFM: NIST GCM test case 2 GHASH step');
    t.equal((await h.aes(0x02, TEMPKEY, new Uint8Array(16))).status, 0x03, 'operation 2 does not exist');
    t.equal((await h.aes(0x08, TEMPKEY, new Uint8Array(16))).status, 0x03, 'mode bits 3-5 reserved');
    t.equal((await h.aes(0x00, TEMPKEY, new Uint8Array(15))).status, 0x03, '16 bytes in');
    t.equal((await h.aes(0x00, 10, new Uint8Array(16))).status, 0x0f, 'slot keys wait for data lock');
  });

  t.test('AES-GCM from the chip\'s AES and GFM (calib_aes_gcm construction): NIST GCM test case 4', async (t) => {
    const h = await hostAt(t, make, 'config-locked');
    const key = new Uint8Array(32);
    key.set(GCM_CASE_4.key);
    await h.nonceLoad(0x00, key);
    const { cipher, tag } = await chipGcm(h, GCM_CASE_4.iv, GCM_CASE_4.aad, GCM_CASE_4.plain);
    t.same([...cipher], [...GCM_CASE_4.cipher], 'ciphertext');
    t.same([...tag], [...GCM_CASE_4.tag], 'tag');
  });

  t.test('AES with a slot key: cryptoauthlib aes_encrypt_key_slot / aes_decrypt_key_slot on slot 10 (TEST_TYPE_AES)', async (t) => {
    const h = await hostAt(t, make, 'locked');
    const keys = new Uint8Array(64);
    keys.set(NIST_ECB.key, 0);
    for (let i = 16; i < 64; i++) keys[i] = 255 - i;
    t.same(await h.writeBytesZone(2, 10, 0, keys), [0, 0], 'four AES keys into slot 10 (calib_write_bytes_zone)');
    for (let block = 0; block < 4; block++) {
      const key = keys.subarray(block * 16, block * 16 + 16);
      for (let i = 0; i < 4; i++) {
        const p = NIST_ECB.plain.subarray(i * 16, i * 16 + 16);
        const c = aesEcb(key, p);
        if (block === 0) t.same([...c], [...NIST_ECB.cipher.subarray(i * 16, i * 16 + 16)]);
        t.same([...(await h.aes(block << 6, 10, p)).data], [...c], `encrypt, key block ${block}, data block ${i}`);
        t.same([...(await h.aes(0x01 | (block << 6), 10, c)).data], [...p], `decrypt, key block ${block}, data block ${i}`);
      }
    }
    t.equal((await h.aes(0x00, 4, new Uint8Array(16))).status, 0x0f, 'slot 4 is not an AES key (KeyType 7)');
    t.equal((await h.aes(0x00, 0, new Uint8Array(16))).status, 0x0f, 'nor a private key');
  });

  t.test('Info 0x04 and PersistentDisable: cryptoauthlib volatile_key_permit, AES key in slot 5', async (t) => {
    t.equal((await (await hostAt(t, make, 'unlocked')).info(0x04, 0)).status, 0x0f, 'unlocked: refused');
    const h = await hostAt(t, make, 'locked');
    const key = NIST_ECB.key;
    t.same([...(await h.info(0x04, 0)).data], [0, 0, 0, 0], 'latch clear');
    t.equal((await h.writeZone(2, 5, 0, 0, Buffer.concat([key, new Uint8Array(16)]))).status, 0x00);
    t.equal((await h.aes(0x00, 5, NIST_ECB.plain.subarray(0, 16))).status, 0x0f, 'PersistentDisable key refused while the latch is clear');
    t.equal((await h.info(0x04, 0x0003)).status, 0x0f, 'latch not settable before the VolatileKeyPermit key is proved');
    // CheckMac over slot 4 (VolatileKeyPermission 0x84) with a random-nonce TempKey as challenge.
    const numIn = new Uint8Array(20);
    const tk = nonceTempKey((await h.nonceRand(numIn)).data, numIn);
    const other = Uint8Array.from({ length: 13 }, (_, i) => 0xf0 + i);
    const sn = await h.serialNumber();
    const resp = checkMacResponse(0x01, SLOT4_KEY, tk, other, sn);
    t.equal((await h.checkMac(0x01, 4, new Uint8Array(32), resp, other)).status, 0x00, 'CheckMac');
    t.equal((await h.info(0x04, 0x0003)).status, undefined, 'latch set');
    t.same([...(await h.info(0x04, 0)).data], [1, 0, 0, 0]);
    t.same([...(await h.aes(0x00, 5, NIST_ECB.plain.subarray(0, 16))).data], [...NIST_ECB.cipher.subarray(0, 16)], 'AES with the slot-5 key now');
    t.same([...(await h.info(0x04, 0x0002)).data], [0, 0, 0, 0], 'cleared again');
    t.equal((await h.aes(0x00, 5, NIST_ECB.plain.subarray(0, 16))).status, 0x0f);
    t.equal((await h.info(0x04, 0x0004)).status, 0x03, 'param2 bits above 1 reserved');
  });

  t.test('KDF (0x56): cryptoauthlib kdf_prf/aes/hkdf tests, targets and encrypted output', async (t) => {
    t.equal((await (await hostAt(t, make, 'unlocked')).kdf(0x10, 0, 0x01 | (16 << 24), KDF_VECTORS.input16)).status, 0x0f, 'unlocked: refused');
    const h = await hostAt(t, make, 'locked');
    const { nonce, input16, prf64, aes, iv } = KDF_VECTORS;
    const prfDetails = 0x01 | 0x100 | (16 << 24);
    await h.nonceLoad(0x00, nonce);
    t.same([...(await h.kdf(0x10, 0x1234, prfDetails, input16)).data], [...prf64], 'PRF, TempKey key, 64 bytes out: the test vector');
    await h.nonceLoad(0x00, nonce);
    const enc = (await h.kdf(0x14, 0x1234, prfDetails, input16)).data;
    t.same([...ioDecrypt(SLOT4_KEY, enc.subarray(64, 96), enc.subarray(0, 64))], [...prf64], 'encrypted output decrypts with atcah_io_decrypt');
    await h.nonceLoad(0x00, nonce);
    t.same([...(await h.kdf(0x30, 0x1234, 0, input16)).data], [...aes], 'AES, TempKey key: the test vector');
    await h.nonceLoad(0x80, nonce);
    t.equal((await h.kdf(0x03, 0x1234, 0x01 | (32 << 24), Buffer.concat([input16, input16]))).status, 0x00, 'PRF from the alternate key buffer into TempKey');
    const prf32 = createHmac('sha256', nonce).update(createHmac('sha256', nonce).update(Buffer.concat([input16, input16])).digest()).update(Buffer.concat([input16, input16])).digest();
    t.ok(await tempKeyIs(h, prf32), 'TempKey holds P_SHA256 (first 32 bytes)');
    await h.nonceLoad(0x00, nonce);
    t.equal((await h.kdf(0x08, 0x0500, 0x01 | (32 << 24), Buffer.concat([input16, input16]))).status, 0x00, 'PRF into slot 5');
    t.same([...(await h.readZone(2, 5, 0, 0, 32)).data], [...prf32], 'slot 5 holds it');
    await h.nonceLoad(0x00, nonce);
    t.equal((await h.kdf(0x08, 0x0000, 0x01 | (32 << 24), Buffer.concat([input16, input16]))).status, 0x0f, 'not into slot 0 (a private key)');
    t.equal((await h.kdf(0x08, 0x0600, 0x01 | (32 << 24), Buffer.concat([input16, input16]))).status, 0x0f, 'nor slot 6, WriteConfig 1000 (Never)');
    await h.nonceLoad(0x00, nonce);
    t.same([...(await h.kdf(0x50, 0, 0x02 | (16 << 24), input16)).data], [...createHmac('sha256', nonce).update(input16).digest()], 'HKDF: HMAC-SHA256(key, message)');
    await h.nonceLoad(0x00, nonce);
    t.same([...(await h.kdf(0x50, 0, 0x06 | (16 << 24), input16)).data], [...createHmac('sha256', new Uint8Array(32)).update(input16).digest()], 'HKDF with the zero key');
    await h.nonceLoad(0x00, nonce);
    t.equal((await h.kdf(0x48, 0x0500, 0x03 | (32 << 24), iv)).status, 0x00, 'HKDF IV mode: KdfIvStr "iv" at KdfIvLoc 9');
    const badIv = iv.slice();
    badIv[9] = 0;
    await h.nonceLoad(0x00, nonce);
    t.equal((await h.kdf(0x48, 0x0500, 0x03 | (32 << 24), badIv)).status, 0x0f, 'wrong IV string refused');
    await h.genKey(0x04, 0xffff);
    t.equal((await h.kdf(0x10, 0, prfDetails, input16)).status, 0x0f, 'a TempKey holding no value is no source');
    t.equal((await h.kdf(0x70, 0, 0, input16)).status, 0x03, 'algorithm 3 does not exist');
    t.equal((await h.kdf(0x18, 0, 0, input16)).status, 0x03, 'target 6 does not exist');
    t.equal((await h.kdf(0x10, 0, 16 << 24, input16.subarray(0, 8))).status, 0x03, 'message shorter than details say');
  });

  t.test('SHA (0x47): partial updates, context, public-key mode, HMAC from TempKey', async (t) => {
    const h = await hostAt(t, make, 'locked');
    const msg = Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    t.equal((await h.sha(0x00, 0)).status, 0x00);
    for (let at = 0; at < msg.length; at += 7) {
      const part = msg.subarray(at, at + 7);
      t.equal((await h.sha(0x01, part.length, part)).status, 0x00);
    }
    t.same([...(await h.sha(0xc2, 0)).data], [...createHash('sha256').update(msg).digest()], 'NIST two-block vector through 7-byte updates');
    const k = hostKey();
    await h.writePubkey(11, k.xy);
    await h.sha(0x00, 0);
    t.equal((await h.sha(0x03, 11)).status, 0x00, 'public key of slot 11 added');
    t.same([...(await h.sha(0xc2, 0)).data], [...sha(k.xy)], 'digest of X‖Y');
    t.equal((await h.sha(0x03, 0)).status, 0x0f, 'slot 0 holds a private key');
    const key = new Uint8Array(32).fill(0x42);
    await h.nonceLoad(0x00, key);
    t.equal((await h.sha(0x04, TEMPKEY)).status, 0x00, 'HMAC keyed from TempKey');
    t.equal((await h.sha(0x06, 0)).status, 0x0f, 'an HMAC context is not readable');
    t.same([...(await h.sha(0xc2, 3, Buffer.from('abc'))).data], [...createHmac('sha256', key).update('abc').digest()], 'HMAC-SHA256');
    t.equal((await h.sha(0x07, 10, new Uint8Array(10))).status, 0x03, 'a context shorter than 36 bytes');
    // cryptoauthlib sha_hmac / sha_hmac_tempkey: 65 bytes under g_slot4_key, from slot 4 and from TempKey.
    const data = Buffer.from('6fb3ec66f9eb070a719bebbe708b93a65b201b78e2d26d8cccdf1c33f741904a9ade640fce000c334d04bb30795683dca09dbf3e7e32aea103d760e857a6d6211c', 'hex');
    const ref = '297f22b8d251b063a7c08dcf4dba0d1fb35d32a3baab15aceaf4391c4adb3277';
    for (const keyId of [4, TEMPKEY]) {
      if (keyId === TEMPKEY) await h.nonceLoad(0x00, SLOT4_KEY);
      t.equal((await h.sha(0x04, keyId)).status, 0x00, `HMAC start, key ${keyId === TEMPKEY ? 'TempKey' : 'slot 4'}`);
      t.equal((await h.sha(0x01, 64, data.subarray(0, 64))).status, 0x00);
      t.equal(Buffer.from((await h.sha(0x02, 1, data.subarray(64))).data).toString('hex'), ref, 'the reference HMAC');
    }
  });

  t.test('Nonce param2 bit 15 and GenDig zones 3, 4, 5 (TempKey probed with MAC)', async (t) => {
    const h = await hostAt(t, make, 'locked');
    const sn = await h.serialNumber();
    const seed = new Uint8Array(32).fill(9);
    const numIn = new Uint8Array(20).fill(1);
    await h.nonceLoad(0x00, seed);
    const r = (await h.nonceRand(numIn, true)).data;
    t.same([...r], [...sha(seed, numIn, [0x16, 0x00, 0x00])], 'returns SHA-256(TempKey ‖ NumIn ‖ 16 00 00)');
    t.ok(await tempKeyIs(h, r), 'which is the new TempKey');
    t.equal((await h.nonceRand(numIn, true)).status, 0x0f, 'needs a valid TempKey');
    t.equal((await h.exec(0x16, 0x00, 0x4000, numIn)).status, 0x03, 'other param2 bits reserved');
    const other = new Uint8Array(32).fill(0x77);
    const hdr = (zone: number, id: number, b35 = id >> 8) => [0x15, zone, id & 0xff, b35, sn[8]!, sn[0]!, sn[1]!];
    await h.nonceLoad(0x00, seed);
    t.equal((await h.genDig(3, 0x0000, other)).status, 0x00, 'shared nonce, data first');
    t.ok(await tempKeyIs(h, sha(other, hdr(3, 0, 0), new Uint8Array(25), seed)));
    await h.nonceLoad(0x00, seed);
    t.equal((await h.genDig(3, 0x8004, other)).status, 0x00, 'shared nonce, TempKey first, key id 4 (cryptoauthlib gendig_shared_nonce)');
    t.ok(await tempKeyIs(h, sha(seed, hdr(3, 0x8004, 0), new Uint8Array(25), other)));
    await h.nonceLoad(0x00, seed);
    t.equal((await h.genDig(3, 0x0004, other)).status, 0x00, 'shared nonce, data first, key id 4');
    t.ok(await tempKeyIs(h, sha(other, hdr(3, 0x0004, 0), new Uint8Array(25), seed)));
    await h.counter(0x01, 1);
    await h.nonceLoad(0x00, seed);
    t.equal((await h.genDig(4, 1)).status, 0x00, 'counter 1');
    t.ok(await tempKeyIs(h, sha(new Uint8Array(32), hdr(4, 1), [0, 1, 0, 0, 0], new Uint8Array(20), seed)));
    await h.nonceLoad(0x00, seed);
    t.equal((await h.genDig(5, 2)).status, 0x00, 'key config of slot 2');
    t.ok(await tempKeyIs(h, sha(new Uint8Array(32), hdr(5, 2), [0, 0x87, 0x20, 0x13, 0x00, 0x01], new Uint8Array(19), seed)));
    t.equal((await h.genDig(3, 0, new Uint8Array(4))).status, 0x03, 'shared nonce takes 32 bytes');
    t.equal((await h.genDig(6, 0)).status, 0x03, 'zone 6 does not exist');
  });
}
