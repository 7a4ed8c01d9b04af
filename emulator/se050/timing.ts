/**
 * The timing model: how long the chip takes per command, when `--timing` is on (off by default,
 * as for the ATECC608). NXP does not publish per-APDU times in the public sources Keyline could
 * reach (the SE050 data sheet's crypto performance section was not in the stored copies this was
 * written from), so these figures are estimates of the right order for a 2019-era secure
 * element at its default clock, to be replaced by the data sheet's figures when checked:
 * P-256 key generation ~100 ms, ECDSA sign ~60 ms, verify ~70 ms, attested read ~70 ms (one
 * sign), a write to NVM ~5 ms plus ~1 ms per 64 bytes, a read or management command ~1-2 ms.
 * The T=1-over-I2C transfer time (400 kHz: ~25 µs per byte) comes on top on a real bus.
 */
import { Ins, P1, P2 } from '../../common/se05x/applet-constants.js';
import type { CommandApdu } from '../../common/se05x/apdu.js';

/** Estimated execution time of one command, ms (see the file comment for the status of these figures). */
export function se050ExecMs(apdu: CommandApdu): number {
  const cls = apdu.ins & 0x1f;
  if (apdu.ins === Ins.SELECT) return 2;
  if (cls === Ins.READ && (apdu.ins & Ins.ATTEST) !== 0) return 70;
  if (cls === Ins.CRYPTO && apdu.p1 === P1.SIGNATURE) return apdu.p2 === P2.SIGN ? 60 : 70;
  if (cls === Ins.CRYPTO) return 2 + Math.ceil(apdu.data.length / 64) * 0.2;
  if (cls === Ins.WRITE && (apdu.p1 & P1.CLASS_MASK) === P1.EC) {
    // 43/44 TLVs present = import; none = generation inside the chip.
    return apdu.data.includes(0x43) || apdu.data.includes(0x44) ? 15 : 100;
  }
  if (cls === Ins.WRITE) return 5 + Math.ceil(apdu.data.length / 64);
  return 1.5;
}
