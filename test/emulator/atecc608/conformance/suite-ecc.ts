/**
 * Conformance, asymmetric families: GenKey into TempKey with ECDH from TempKey (clear and
 * IO-encrypted), ECDH from a slot with encrypted output, Verify with a validating MAC (External
 * and Stored, calib_verify_extern_mac / calib_verify_stored_mac), Validate / Invalidate /
 * ValidateExternal of a PubInfo key, SecureBoot in every mode with and without the MAC
 * (cryptoauthlib's sboot tests), as cryptoauthlib frames them.
 */
import { createHash } from 'node:crypto';
import type { Test } from 'tap';
import { ioDecrypt, nonceTempKey, secureBootEnc, secureBootMac, sha, verifyMac } from './atcah.js';
import { hostAt, hostKey, type MakeTransport } from './fixtures.js';
import { SLOT4_KEY } from './stages.js';

const P256 = 0x0004;

/** Runs the asymmetric families against `make`. */
export function eccSuite(t: Test, make: MakeTransport): void {
  t.test('GenKey KeyID 0xFFFF and ECDH from TempKey; ECDH encrypted output (calib_ecdh_*)', async (t) => {
    t.equal((await (await hostAt(t, make, 'unlocked')).genKey(0x04, 0xffff)).status, 0x0f, 'unlocked: refused');
    const h = await hostAt(t, make, 'config-locked');
    const peer = hostKey();
    const pub = (await h.genKey(0x04, 0xffff)).data;
    t.equal(pub.length, 64, 'public key of the TempKey key');
    t.same([...(await h.genKey(0x00, 0xffff)).data], [...pub], 'recomputed from TempKey');
    t.same([...(await h.ecdh(0x0d, 0, peer.xy)).data], [...peer.ecdh(pub)], 'calib_ecdh_tempkey');
    const enc = (await h.ecdh(0x0f, 0, peer.xy)).data;
    t.same([...ioDecrypt(new Uint8Array(32), enc.subarray(32, 64), enc.subarray(0, 32))], [...peer.ecdh(pub)], 'IO-encrypted, under slot 4 as it stands (empty before data lock)');
    t.equal((await h.genKey(0x0c, 0xffff)).status, 0x03, 'no digest mode for TempKey');
    t.equal((await h.exec(0x08, 0x02, 0, new Uint8Array(32))).status, 0x0f, 'the TempKey scalar is not readable through MAC');
    const locked = await hostAt(t, make, 'locked');
    const p2 = (await locked.genKey(0x04, 0xffff)).data;
    const e2 = (await locked.ecdh(0x0f, 0, peer.xy)).data;
    t.same([...ioDecrypt(SLOT4_KEY, e2.subarray(32, 64), e2.subarray(0, 32))], [...peer.ecdh(p2)], 'calib_ecdh_tempkey_ioenc decrypts with the IO key');
    const p2s = (await locked.genKey(0x04, 2)).data;
    const e3 = (await locked.ecdh(0x0e, 2, peer.xy)).data;
    t.same([...ioDecrypt(SLOT4_KEY, e3.subarray(32, 64), e3.subarray(0, 32))], [...peer.ecdh(p2s)], 'calib_ecdh_ioenc from slot 2 (ecdh_protection_key)');
    t.same([...(await locked.ecdh(0x08, 2, peer.xy)).data], [0x00], 'copy to TempKey answers a status');
    await locked.genKey(0x04, 0xffff);
    t.equal((await locked.ecdh(0x05, 9, peer.xy)).status, 0x0f, 'a TempKey key copying to a slot: not modelled, refused');
  });

  t.test('Verify with validating MAC: calib_verify_extern_mac and calib_verify_stored_mac', async (t) => {
    const h = await hostAt(t, make, 'locked');
    const k = hostKey();
    const message = sha(Buffer.from('verify mac'));
    const sig = k.signDigest(message);
    const numIn = new Uint8Array(32).fill(0x3c);
    for (const [mode, keyId, extra] of [[0x02, P256, k.xy], [0x00, 11, new Uint8Array()]] as const) {
      if (mode === 0x00) await h.writePubkey(11, k.xy);
      t.equal((await h.nonceLoad(0x40, Buffer.concat([message, numIn]))).status, 0x00, 'message ‖ system nonce into the digest buffer');
      const full = mode | 0x20 | 0x80;
      const mac = (await h.verify(full, keyId, sig, extra)).data;
      t.same([...mac], [...verifyMac(SLOT4_KEY, message, numIn, sig, full, keyId)], `mode 0x${full.toString(16)}: MAC = atcah_verify_mac`);
      const bad = sig.slice();
      bad[0]! ^= 1;
      t.equal((await h.verify(full, keyId, bad, extra)).status, 0x01, 'a wrong signature: miscompare, no MAC');
    }
    t.equal((await h.verify(0x83, 14, new Uint8Array(64), new Uint8Array(19))).status, 0x03, 'no MAC in the validate modes');
    const config = await hostAt(t, make, 'config-locked');
    await config.nonceLoad(0x40, Buffer.concat([message, numIn]));
    t.same([...(await config.verify(0xa2, P256, sig, k.xy)).data], [...verifyMac(new Uint8Array(32), message, numIn, sig, 0xa2, P256)], 'config-locked: MAC under the IO key slot as it stands (empty)');
  });

  t.test('Verify Validate, Invalidate and ValidateExternal of slot 14 (PubInfo), parent in slot 15', async (t) => {
    const h = await hostAt(t, make, 'locked');
    const sn = await h.serialNumber();
    const child = hostKey();
    const parent = hostKey();
    await h.writePubkey(14, child.xy);
    await h.writePubkey(15, parent.xy);
    t.same([...(await h.info(0x01, 14)).data], [0, 0, 0, 0], 'written: invalid');
    const otherGen = Uint8Array.of(0x11, 0x22, 0x33);
    const digestMsg = (tempKey: Uint8Array) => sha(tempKey, [0x40], otherGen, [sn[8]!, sn[0]!, sn[1]!], new Uint8Array(25), child.xy);
    const signFor = async (invalidate: boolean) => {
      const nonce = new Uint8Array(32).fill(invalidate ? 2 : 1);
      await h.nonceLoad(0x00, nonce);
      t.equal((await h.genKey(0x10, 14, otherGen)).status, 0x00, 'GenKey 0x10: digest of the stored key');
      const tk = digestMsg(nonce);
      const other = new Uint8Array(19);
      other.set([0x41, 0x00, 0x0f, 0x00], 0);
      other[17] = invalidate ? 1 : 0;
      const msg = sha(tk, [0x41], other.subarray(0, 10), [sn[8]!], other.subarray(10, 14), sn.subarray(0, 2), other.subarray(14, 19));
      return { sig: parent.signDigest(msg), other, tk };
    };
    let s = await signFor(false);
    t.equal((await h.verify(0x03, 14, s.sig, s.other)).status, 0x00, 'Validate');
    t.same([...(await h.info(0x01, 14)).data], [1, 0, 0, 0], 'valid now');
    s = await signFor(true);
    t.equal((await h.verify(0x07, 14, s.sig, s.other)).status, 0x00, 'Invalidate');
    t.same([...(await h.info(0x01, 14)).data], [0, 0, 0, 0]);
    // ValidateExternal: the parent's key comes in the data, the signed message is TempKey.
    const nonce = new Uint8Array(32).fill(5);
    await h.nonceLoad(0x00, nonce);
    await h.genKey(0x10, 14, otherGen);
    t.equal((await h.verify(0x01, 14, parent.signDigest(digestMsg(nonce)), parent.xy)).status, 0x00, 'ValidateExternal');
    t.same([...(await h.info(0x01, 14)).data], [1, 0, 0, 0]);
    await h.nonceLoad(0x00, nonce);
    await h.genKey(0x10, 14, otherGen);
    t.equal((await h.verify(0x01, 14, hostKey().signDigest(digestMsg(nonce)), parent.xy)).status, 0x01, 'another signer: miscompare');
    t.equal((await h.verify(0x01, 14, new Uint8Array(64), parent.xy)).status, 0x0f, 'TempKey consumed');
  });

  t.test('SecureBoot (0x80): cryptoauthlib sboot_digest, sboot_digest_full_encrypted, sboot_digest_fullstore_encrypted', async (t) => {
    const digest = new Uint8Array(createHash('sha256').update(Buffer.alloc(256, 7)).digest());
    t.equal((await (await hostAt(t, make, 'config-locked')).secureBoot(0x05, digest, new Uint8Array(64))).status, 0x0f, 'before data lock: refused');
    const h = await hostAt(t, make, 'locked');
    const pub = (await h.genKey(0x04, 2)).data;
    t.same(await h.writePubkey(11, pub), [0, 0, 0]);
    await h.nonceLoad(0x00, digest);
    const sig = (await h.sign(0x80, 2)).data;
    t.equal((await h.secureBoot(0x05, digest, sig)).status, 0x00, 'Full');
    t.equal((await h.secureBoot(0x06, digest)).status, 0x01, 'FullStore before any copy: the stored digest differs');
    t.equal((await h.secureBoot(0x07, digest, sig)).status, 0x00, 'FullCopy stores the digest (SecureBootMode FullDig)');
    t.same([...(await h.readZone(2, 12, 0, 0, 32)).data], [...digest], 'in slot 12');
    t.equal((await h.secureBoot(0x06, digest)).status, 0x00, 'FullStore');
    const wrong = digest.slice();
    wrong[0]! ^= 1;
    t.equal((await h.secureBoot(0x05, wrong, sig)).status, 0x01, 'a wrong digest: miscompare');
    for (const mode of [0x05, 0x07, 0x06]) {
      const numIn = new Uint8Array(20).fill(mode);
      const tk = nonceTempKey((await h.nonceRand(numIn)).data, numIn);
      const { hashedKey, digestEnc } = secureBootEnc(SLOT4_KEY, tk, digest);
      const mac = (await h.secureBoot(mode | 0x80, digestEnc, sig)).data;
      t.same([...mac], [...secureBootMac(hashedKey, digest, mode === 0x06 ? undefined : sig, mode | 0x80)], `mode 0x${(mode | 0x80).toString(16)}: MAC = atcah_secureboot_mac`);
    }
    t.equal((await h.exec(0x80, 0x05, 1, new Uint8Array(96))).status, 0x03, 'param2 must be 0');
    t.equal((await h.exec(0x80, 0x04, 0, new Uint8Array(96))).status, 0x03, 'mode 4 does not exist');
    t.equal((await h.secureBoot(0x45, digest, sig)).status, 0x00, 'prohibit flag: this one still runs');
    t.equal((await h.secureBoot(0x05, digest, sig)).status, 0x0f, 'then SecureBoot is off until power-down');
  });
}
