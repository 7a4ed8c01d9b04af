/**
 * Certificate serial numbers the chip need not store (atcacert_generate_sn in atcacert_def.c):
 * derived from the chip serial, the signer ID, or a SHA-256 over the public key (or chip serial)
 * and the encoded dates of the compressed certificate.
 */
import { createHash } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { SnSource, type SnSourceCode } from './cert-def.js';

/** What a serial can be derived from; each source uses only what it needs. */
export interface SerialInputs {
  /** Raw X‖Y, 64 bytes. */
  publicKey?: Uint8Array;
  /** 9-byte chip serial. */
  chipSerial?: Uint8Array;
  /** The compressed certificate (bytes 64-66 dates, 67-68 signer ID, 70 format, 71 extension). */
  comp: Uint8Array;
}

const bad = (msg: string): never => {
  throw new KeylineError('ATCACERT_INVALID', msg);
};

/**
 * Computes an `size`-byte serial for `source`. For the hash sources the message is the 64-byte key
 * (or 9-byte chip serial) then bytes 64-66, plus `byte71 & 0xF0` when the format version is 1 or 2,
 * exactly as atcacert hashes it; PUB_KEY_HASH then clears bit 7 and sets bit 6 of the first byte, so
 * the INTEGER is positive and never has a trimmable leading byte (its DER length is fixed).
 */
export function generateSerial(source: SnSourceCode, size: number, inputs: SerialInputs): Uint8Array {
  const { comp } = inputs;
  switch (source) {
    case SnSource.DEVICE_SN: {
      const sn = inputs.chipSerial ?? bad('DEVICE_SN serial needs the chip serial');
      if (sn.length !== 9 || size !== 10) bad(`DEVICE_SN serial is 10 bytes from a 9-byte chip serial, not ${size}`);
      return Uint8Array.of(0x40, ...sn);
    }
    case SnSource.SIGNER_ID:
      if (size !== 3) bad(`SIGNER_ID serial is 3 bytes, not ${size}`);
      return Uint8Array.of(0x40, comp[67]!, comp[68]!);
    case SnSource.PUB_KEY_HASH:
    case SnSource.PUB_KEY_HASH_POS:
    case SnSource.PUB_KEY_HASH_RAW:
    case SnSource.DEVICE_SN_HASH:
    case SnSource.DEVICE_SN_HASH_POS:
    case SnSource.DEVICE_SN_HASH_RAW: {
      const byKey = source === SnSource.PUB_KEY_HASH || source === SnSource.PUB_KEY_HASH_POS || source === SnSource.PUB_KEY_HASH_RAW;
      const subject = byKey
        ? (inputs.publicKey ?? bad('hash serial needs the public key'))
        : (inputs.chipSerial ?? bad('hash serial needs the chip serial'));
      if (size < 1 || size > 32) bad(`hash serial size ${size} outside 1-32`);
      const format = comp[70]! & 0x0f;
      if (format > 2) bad(`compressed format version ${format} unknown`);
      const h = createHash('sha256').update(subject).update(comp.subarray(64, 67));
      if (format !== 0) h.update(Uint8Array.of(comp[71]! & 0xf0)); // extended date bits
      const sn = new Uint8Array(h.digest().subarray(0, size));
      if (source === SnSource.PUB_KEY_HASH || source === SnSource.DEVICE_SN_HASH) sn[0] = (sn[0]! & 0x7f) | 0x40;
      else if (source === SnSource.PUB_KEY_HASH_POS || source === SnSource.DEVICE_SN_HASH_POS) sn[0] = sn[0]! & 0x7f;
      return sn;
    }
    default:
      throw new KeylineError('NOT_SUPPORTED', `serial source 0x${source.toString(16)} is not generated (stored serials come from the template or device)`);
  }
}

/** True when `source` derives the serial rather than storing it. */
export function isGeneratedSerial(source: SnSourceCode): boolean {
  return source !== SnSource.STORED && source !== SnSource.STORED_DYNAMIC;
}
