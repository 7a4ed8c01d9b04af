/**
 * Host-side computations cryptoauthlib makes around the chip (lib/host/atca_host.c: atcah_nonce,
 * atcah_gen_dig, atcah_write_auth_mac, atcah_privwrite_auth_mac, atcah_derive_key(_mac),
 * atcah_check_mac, atcah_verify_mac, atcah_secureboot_enc/mac, atcah_io_decrypt), written from the
 * message layouts those functions document, so the conformance suite checks the emulator against
 * what the vendor's host library expects, byte for byte.
 */
import { createHash } from 'node:crypto';

/** SHA-256 of the concatenated parts. */
export function sha(...parts: (Uint8Array | number[])[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p instanceof Uint8Array ? p : Uint8Array.from(p));
  return new Uint8Array(h.digest());
}

/** TempKey after a random Nonce: SHA-256(RandOut ‖ NumIn ‖ 0x16 ‖ mode ‖ 0x00). */
export function nonceTempKey(randOut: Uint8Array, numIn: Uint8Array, mode = 0x00): Uint8Array {
  return sha(randOut, numIn, [0x16, mode, 0x00]);
}

/** TempKey after GenDig over a data-zone key (OtherData = opcode, zone, key id, as cryptoauthlib sends it). */
export function genDigData(tempKey: Uint8Array, key: Uint8Array, keyId: number, sn: Uint8Array): Uint8Array {
  return sha(key.subarray(0, 32), [0x15, 0x02, keyId & 0xff, keyId >> 8, sn[8]!, sn[0]!, sn[1]!], new Uint8Array(25), tempKey.subarray(0, 32));
}

/** Encrypted Write (param1 bit 6): ciphertext and input MAC. */
export function writeAuthMac(tempKey: Uint8Array, param1: number, addr: number, sn: Uint8Array, plain: Uint8Array): { cipher: Uint8Array; mac: Uint8Array } {
  const cipher = plain.map((b, i) => b ^ tempKey[i]!);
  const mac = sha(tempKey.subarray(0, 32), [0x12, param1, addr & 0xff, addr >> 8, sn[8]!, sn[0]!, sn[1]!], new Uint8Array(25), plain);
  return { cipher, mac };
}

/** Encrypted PrivWrite: 36-byte ciphertext (last 4 bytes under SHA-256(TempKey)) and input MAC. */
export function privWriteAuthMac(tempKey: Uint8Array, slot: number, sn: Uint8Array, plain36: Uint8Array): { cipher: Uint8Array; mac: Uint8Array } {
  const tk = tempKey.subarray(0, 32);
  const k2 = sha(tk);
  const cipher = plain36.map((b, i) => b ^ (i < 32 ? tk[i]! : k2[i - 32]!));
  const mac = sha(tk, [0x46, 0x40, slot & 0xff, slot >> 8, sn[8]!, sn[0]!, sn[1]!], new Uint8Array(21), plain36);
  return { cipher, mac };
}

/** The key DeriveKey writes: SHA-256(parent ‖ 0x1C ‖ mode ‖ target LE ‖ SN[8] ‖ SN[0:1] ‖ 25 zeros ‖ TempKey). */
export function deriveKey(parent: Uint8Array, mode: number, target: number, sn: Uint8Array, tempKey: Uint8Array): Uint8Array {
  return sha(parent.subarray(0, 32), [0x1c, mode, target & 0xff, target >> 8, sn[8]!, sn[0]!, sn[1]!], new Uint8Array(25), tempKey.subarray(0, 32));
}

/** DeriveKey's authorising MAC: SHA-256(parent ‖ 0x1C ‖ mode ‖ target LE ‖ SN[8] ‖ SN[0:1]). */
export function deriveKeyMac(parent: Uint8Array, mode: number, target: number, sn: Uint8Array): Uint8Array {
  return sha(parent.subarray(0, 32), [0x1c, mode, target & 0xff, target >> 8, sn[8]!, sn[0]!, sn[1]!]);
}

/** CheckMac's client response (atcah_check_mac) for a challenge-from-data or TempKey mode. */
export function checkMacResponse(mode: number, key: Uint8Array, challenge: Uint8Array, other: Uint8Array, sn: Uint8Array, otp?: Uint8Array): Uint8Array {
  const m = new Uint8Array(88);
  m.set(key.subarray(0, 32), 0);
  m.set(challenge.subarray(0, 32), 32);
  m.set(other.subarray(0, 4), 64);
  if (mode & 0x20 && otp) m.set(otp.subarray(0, 8), 68);
  m.set(other.subarray(4, 7), 76);
  m[79] = sn[8]!;
  m.set(other.subarray(7, 11), 80);
  m.set(sn.subarray(0, 2), 84);
  m.set(other.subarray(11, 13), 86);
  return sha(m);
}

/** Verify's validating MAC (atcah_verify_mac): SHA-256(IOkey ‖ message ‖ system nonce ‖ signature ‖ 0x45 ‖ mode ‖ param2 LE). */
export function verifyMac(ioKey: Uint8Array, message: Uint8Array, nonce: Uint8Array, signature: Uint8Array, mode: number, param2: number): Uint8Array {
  return sha(ioKey, message, nonce, signature, [0x45, mode, param2 & 0xff, param2 >> 8]);
}

/** SecureBoot's encrypted digest and the key it derives (atcah_secureboot_enc). */
export function secureBootEnc(ioKey: Uint8Array, tempKey: Uint8Array, digest: Uint8Array): { hashedKey: Uint8Array; digestEnc: Uint8Array } {
  const hashedKey = sha(ioKey, tempKey.subarray(0, 32));
  return { hashedKey, digestEnc: digest.map((b, i) => b ^ hashedKey[i]!) };
}

/** SecureBoot's validating MAC (atcah_secureboot_mac); `signature` omitted for FullStore with FullDig. */
export function secureBootMac(hashedKey: Uint8Array, digest: Uint8Array, signature: Uint8Array | undefined, mode: number): Uint8Array {
  return sha(hashedKey, digest, signature ?? new Uint8Array(), [0x80, mode, 0, 0]);
}

/** Decrypts output encrypted with the IO protection key (atcah_io_decrypt). */
export function ioDecrypt(ioKey: Uint8Array, outNonce: Uint8Array, data: Uint8Array): Uint8Array {
  const out = data.slice();
  for (let block = 0; block * 32 < data.length; block++) {
    const k = sha(ioKey, outNonce.subarray(block * 16, block * 16 + 16));
    for (let i = 0; i < 32; i++) out[block * 32 + i]! ^= k[i]!;
  }
  return out;
}
