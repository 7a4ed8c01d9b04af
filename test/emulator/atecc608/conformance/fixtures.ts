/**
 * Shared pieces of the conformance suite: the transport factory type, a fresh host at a stage,
 * host-side P-256 keys (raw-digest signing through the model's ECDSA, which node cannot do),
 * a TempKey probe (MAC with TempKey as its key, compared with the host's atcah_mac), and the
 * published vectors the suite checks against.
 */
import { createECDH } from 'node:crypto';
import type { Test } from 'tap';
import { keyFromScalar, randomScalar, signDigest } from '../../../../emulator/atecc608/ecc.js';
import type { Transport } from '../../../../secure-element/transport.js';
import { sha } from './atcah.js';
import { CalibHost, transportExec } from './calib-host.js';
import { toStage, type Stage } from './stages.js';

/** Makes a transport to one fresh blank chip; the suite closes it. */
export type MakeTransport = () => Promise<Transport>;

/** A host over a fresh chip at `stage`, closed at the end of `t`. */
export async function hostAt(t: Test, make: MakeTransport, stage: Stage): Promise<CalibHost> {
  const tr = await make();
  t.teardown(() => tr.close());
  const host = new CalibHost(transportExec(tr));
  await toStage(host, stage);
  return host;
}

/** A host-side P-256 key: X‖Y, the scalar, and signing of a raw 32-byte digest. */
export function hostKey(): { xy: Uint8Array; d: Uint8Array; signDigest: (digest: Uint8Array) => Uint8Array; ecdh: (peer: Uint8Array) => Uint8Array } {
  const d = randomScalar();
  const key = keyFromScalar(d);
  return {
    xy: key.publicKey,
    d,
    signDigest: (digest) => signDigest(key, digest),
    ecdh: (peer) => {
      const e = createECDH('prime256v1');
      e.setPrivateKey(Buffer.from(d));
      return new Uint8Array(e.computeSecret(Buffer.concat([Buffer.of(4), Buffer.from(peer)])));
    },
  };
}

/**
 * The MAC (mode 0x06, key from TempKey with SourceFlag "input"; 0x02 for a random TempKey) a chip
 * answers when TempKey equals `tempKey`, with challenge `chal`, slot 0, serial `sn` (atcah_mac).
 */
export function probeMac(tempKey: Uint8Array, chal: Uint8Array, sn: Uint8Array, mode = 0x06): Uint8Array {
  const m = new Uint8Array(88);
  m.set(tempKey.subarray(0, 32), 0);
  m.set(chal, 32);
  m.set([0x08, mode, 0x00, 0x00], 64);
  m[79] = sn[8]!;
  m.set(sn.subarray(0, 2), 84);
  return sha(m);
}

/** Asks the chip for that MAC (consuming TempKey): true when its TempKey is `expected`. */
export async function tempKeyIs(host: CalibHost, expected: Uint8Array, sourceFlag: 0 | 1 = 1): Promise<boolean> {
  const chal = new Uint8Array(32).fill(0xc3);
  const sn = await host.serialNumber();
  const mode = sourceFlag ? 0x06 : 0x02;
  const r = await host.exec(0x08, mode, 0, chal);
  return r.status === undefined && Buffer.from(r.data).equals(Buffer.from(probeMac(expected, chal, sn, mode)));
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

/** NIST SP 800-38A F.1.1 (AES-128 ECB): key, four plaintext blocks, four ciphertext blocks (cryptoauthlib g_ciphertext_ecb[0]). */
export const NIST_ECB = {
  key: hex('2b7e151628aed2a6abf7158809cf4f3c'),
  plain: hex('6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710'),
  cipher: hex('3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf 43b1cd7f598ece23881b00e3ed030688 7b0c785e27e8ad3f8223207104725dd4'),
};

/** NIST GCM test case 2 (McGrew-Viega): H and C, and GHASH's X1 = C·H, the vector cryptoauthlib's aes_gfm test uses. */
export const GCM_GFM = { h: hex('66e94bd4ef8a2c3b884cfa59ca342b2e'), x: hex('0388dace60b6a392f328c2b971b2fe78'), product: hex('5e2ec746917062882c85b0685353deb7') };

/** NIST GCM test case 4 (McGrew-Viega; AES-128, 96-bit IV, AAD, a partial last block): key, IV, AAD, plaintext, ciphertext, tag. */
export const GCM_CASE_4 = {
  key: hex('feffe9928665731c6d6a8f9467308308'),
  iv: hex('cafebabefacedbaddecaf888'),
  aad: hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'),
  plain: hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72 1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39'),
  cipher: hex('42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e 21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091'),
  tag: hex('5bc94fbc3221a5db94fae95ae7121a47'),
};

/** cryptoauthlib's KDF test inputs and the outputs it expects (test/api_atcab/atca_tests_kdf.c). */
export const KDF_VECTORS = {
  nonce: hex('000102030405060708090a0b0c0d0e0f 000102030405060708090a0b0c0d0e0f'),
  input16: hex('000102030405060708090a0b0c0d0e0f'),
  prf64: hex('1ebcbe62005ab948fdffe1c402aaba354ec676050c9bc1aae1ff5b1509a4a04a 44254664c2a480f5b77ea2d1020c7ba4b3640c4ac793324c26d6fddfdb1f011a'),
  aes: hex('0a940bb5416ef045f1c39458c653ea5a 00000000000000000000000000000000'),
  iv: hex('0001020304050607086976 0b0c0d0e0f 000102030405060708090a0b0c0d0e0f'),
};
