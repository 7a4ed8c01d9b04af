/**
 * Conformance, every opcode on each lifecycle stage: what a part answers to cryptoauthlib's basic
 * calls (calib_info, calib_read_zone, calib_random, calib_nonce*, calib_genkey, calib_sign,
 * calib_verify_extern, calib_sha, calib_counter, calib_ecdh, calib_gendig, calib_mac,
 * calib_checkmac, calib_selftest, calib_updateextra, calib_lock) unlocked, config-locked and locked,
 * with the results checked on the host (signatures with node, digests with the host's own math).
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { Test } from 'tap';
import { checkMacResponse, sha } from './atcah.js';
import { hostAt, hostKey, type MakeTransport } from './fixtures.js';
import type { Stage } from './stages.js';

const xyKey = (xy: Uint8Array) => createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(xy.subarray(0, 32)).toString('base64url'), y: Buffer.from(xy.subarray(32)).toString('base64url') }, format: 'jwk' });

/** Runs the every-opcode table on the three stages against `make`. */
export function basicSuite(t: Test, make: MakeTransport): void {
  t.test('certificate I/O as atcacert does it: compressed certificates in 72-byte slots, device key, challenge-response', async (t) => {
    const h = await hostAt(t, make, 'locked');
    const comp = Uint8Array.from({ length: 72 }, (_, i) => (i * 37) & 0xff);
    t.same(await h.writeBytesZone(2, 10, 0, comp), [0, 0, 0, 0], 'calib_write_bytes_zone: blocks 0-1 of 32 bytes, block 2 as two words');
    t.same([...(await h.readBytesZone(2, 10, 0, 72, 72))], [...comp], 'calib_read_bytes_zone back');
    const signer = hostKey();
    await h.writePubkey(11, signer.xy);
    t.same([...(await h.readPubkey(11))], [...signer.xy], 'signer public key (calib_write_pubkey / calib_read_pubkey)');
    const pub = (await h.genKey(0x04, 2)).data;
    t.same([...(await h.genKey(0x00, 2)).data], [...pub], 'atcacert_get_device_public_key (GenKey public)');
    // atcacert_get_response: challenge into TempKey, Sign external; atcacert_verify_response_hw: Verify external.
    const challenge = createHash('sha256').update('challenge').digest();
    await h.nonceLoad(0x00, challenge);
    const response = (await h.sign(0x80, 2)).data;
    await h.nonceLoad(0x40, challenge);
    t.equal((await h.verify(0x22, 0x0004, response, pub)).status, 0x00, 'the device response verifies on the chip');
    await h.nonceLoad(0x40, challenge);
    t.equal((await h.verify(0x22, 0x0004, response, signer.xy)).status, 0x01, 'against another key: miscompare');
  });

  for (const stage of ['unlocked', 'config-locked', 'locked'] as Stage[]) {
    t.test(`every opcode on a ${stage} part`, async (t) => {
      const h = await hostAt(t, make, stage);
      const cfgLocked = stage !== 'unlocked';
      const locked = stage === 'locked';
      t.same([...(await h.info(0x00)).data], [0x00, 0x00, 0x60, 0x02], 'Info revision');
      t.equal((await h.readZone(0, 0, 2, 5, 4)).data[3], cfgLocked ? 0x00 : 0x55, 'Read LockConfig');
      t.equal((await h.readZone(2, 10, 0, 0, 32)).status, locked ? undefined : 0x0f, 'Read data slot 10 (clear)');
      t.equal((await h.readZone(2, 8, 0, 0, 32)).status, 0x0f, 'Read of slot 8 (IsSecret) never in clear');
      t.equal((await h.readZone(1, 0, 0, 0, 32)).status, locked ? undefined : 0x0f, 'Read OTP');
      const rnd = (await h.exec(0x1b, 0x00, 0)).data;
      t.equal(rnd.length, 32, 'Random');
      t.equal(Buffer.from(rnd).equals(Buffer.from('ffff0000'.repeat(8), 'hex')), !cfgLocked, 'test pattern until config lock');
      const numIn = new Uint8Array(20).fill(4);
      t.equal((await h.nonceRand(numIn)).data.length, 32, 'Nonce random');
      const sn = await h.serialNumber();
      const chal = new Uint8Array(32).fill(1);
      // MAC of slot 8 (clear, NoMac 0) over the random TempKey: key slot 8, challenge TempKey (mode 0x01).
      const mac = await h.exec(0x08, 0x01, 8, []);
      t.equal(mac.data.length, 32, 'MAC');
      t.equal((await h.checkMac(0x00, 8, chal, checkMacResponse(0x00, new Uint8Array(32), chal, new Uint8Array(13), sn), new Uint8Array(13))).status, 0x00, 'CheckMac with the (empty) slot 8 key');
      await h.nonceLoad(0x00, new Uint8Array(32).fill(2));
      t.equal((await h.genDig(0, 1)).status, 0x00, 'GenDig config block 1');
      t.equal((await h.genDig(2, 8)).status, 0x00, 'GenDig data slot 8');
      t.equal((await h.genDig(2, 0)).status, 0x0f, 'GenDig over a private key refused');
      t.equal((await h.sha(0x00, 0)).status, 0x00, 'SHA start');
      t.same([...(await h.sha(0xc2, 3, Buffer.from('abc'))).data], [...sha(Buffer.from('abc'))], 'SHA end');
      t.equal((await h.counter(0x01, 1)).data.length, 4, 'Counter increment');
      t.same([...(await h.selfTest(0x3b)).data], [0], 'SelfTest all');
      // Slot 2 (TEST_TYPE_ECC_SIGN): slot 0 is limited-use against counter 0 in this configuration.
      const pub = await h.genKey(0x04, 2);
      t.equal(pub.status, cfgLocked ? undefined : 0x0f, 'GenKey create slot 2');
      const k = hostKey();
      const digest = createHash('sha256').update('conformance').digest();
      await h.nonceLoad(0x40, digest);
      t.equal((await h.verify(0x22, 0x0004, k.signDigest(digest), k.xy)).status, 0x00, 'Verify external from the digest buffer');
      if (cfgLocked) {
        await h.nonceLoad(0x00, digest);
        const sig = (await h.sign(0x80, 2)).data;
        t.ok(verify('sha256', Buffer.from('conformance'), { key: xyKey(pub.data), dsaEncoding: 'ieee-p1363' }, sig), 'Sign external: node verifies');
        t.same([...(await h.ecdh(0x0c, 2, k.xy)).data], [...k.ecdh(pub.data)], 'ECDH to the output buffer');
        t.equal((await h.updateExtra(0x00, 0x00)).status, 0x00, 'UpdateExtra 0 with 0 (byte still 0)');
      } else {
        t.equal((await h.sign(0x80, 2)).status, 0x0f, 'Sign refused');
        t.equal((await h.lock(0x01)).status, 0x0f, 'data lock before config lock refused');
      }
      if (locked) t.equal((await h.lock(0x02 | (10 << 2))).status, 0x00, 'slot lock (calib_lock_data_slot)');
    });
  }
}
