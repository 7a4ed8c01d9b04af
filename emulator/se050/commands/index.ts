/**
 * The command table: (INS class, P1, P2) to handler, as the applet dispatches
 * (simw se05x_APDU_impl.h headers; reference/se050.md §4). An INS the applet does not know is
 * 6D00; a known INS with a P1/P2 it does not take is 6A86 (the model's answer for the applet
 * features it does not implement: RSA, AES, HMAC, MAC, ECDH, ...).
 */
import { Ins, P1, P2 } from '../../../common/se05x/applet-constants.js';
import type { CommandApdu } from '../../../common/se05x/apdu.js';
import { readObjectAttested } from './attest.js';
import type { Handler } from './context.js';
import { counter } from './counter.js';
import { createCurve, deleteCurve, getCurveId, readCurveList, setCurveParam } from './curve.js';
import { digestOneShot } from './digest.js';
import { ecdsaSign, ecdsaVerify } from './ecdsa.js';
import { checkObjectExists, deleteSecureObject, getFreeMemory, getRandom, getTimestamp, getVersion, setLockState } from './mgmt.js';
import { readCryptoObjectList, readIdList, readObject, readSize, readType } from './read.js';
import { writeBinary } from './write-binary.js';
import { writeEcKey } from './write-ec-key.js';

const key = (insClass: number, p1: number, p2: number) => (insClass << 16) | (p1 << 8) | p2;

const TABLE = new Map<number, Handler>([
  [key(Ins.MGMT, P1.DEFAULT, P2.VERSION), getVersion],
  [key(Ins.MGMT, P1.DEFAULT, P2.RANDOM), getRandom],
  [key(Ins.MGMT, P1.DEFAULT, P2.MEMORY), getFreeMemory],
  [key(Ins.MGMT, P1.DEFAULT, P2.TIME), getTimestamp],
  [key(Ins.MGMT, P1.DEFAULT, P2.EXIST), checkObjectExists],
  [key(Ins.MGMT, P1.DEFAULT, P2.DELETE_OBJECT), deleteSecureObject],
  [key(Ins.MGMT, P1.DEFAULT, P2.TRANSPORT), setLockState],
  [key(Ins.MGMT, P1.CURVE, P2.DELETE_OBJECT), deleteCurve],
  [key(Ins.READ, P1.DEFAULT, P2.DEFAULT), readObject],
  [key(Ins.READ, P1.DEFAULT, P2.TYPE), readType],
  [key(Ins.READ, P1.DEFAULT, P2.SIZE), readSize],
  [key(Ins.READ, P1.DEFAULT, P2.LIST), readIdList],
  [key(Ins.READ, P1.CRYPTO_OBJ, P2.LIST), readCryptoObjectList],
  [key(Ins.READ, P1.CURVE, P2.LIST), readCurveList],
  [key(Ins.READ, P1.CURVE, P2.ID), getCurveId],
  [key(Ins.WRITE, P1.BINARY, P2.DEFAULT), writeBinary],
  [key(Ins.WRITE, P1.COUNTER, P2.DEFAULT), counter],
  [key(Ins.WRITE, P1.CURVE, P2.CREATE), createCurve],
  [key(Ins.WRITE, P1.CURVE, P2.PARAM), setCurveParam],
  [key(Ins.CRYPTO, P1.SIGNATURE, P2.SIGN), ecdsaSign],
  [key(Ins.CRYPTO, P1.SIGNATURE, P2.VERIFY), ecdsaVerify],
  [key(Ins.CRYPTO, P1.DEFAULT, P2.ONESHOT), digestOneShot],
]);

const KNOWN_INS = new Set<number>([Ins.WRITE, Ins.READ, Ins.CRYPTO, Ins.MGMT]);

/** The handler for an applet command, or the status word refusing it. */
export function route(apdu: CommandApdu): Handler | number {
  const cls = apdu.ins & 0x1f;
  const flags = apdu.ins & 0xe0;
  if (!KNOWN_INS.has(cls)) return 0x6d00;
  // WriteECKey: any key part with the EC class; TRANSIENT may flag a creating write.
  if (cls === Ins.WRITE && (apdu.p1 & P1.CLASS_MASK) === P1.EC && apdu.p2 === P2.DEFAULT && (flags & ~Ins.TRANSIENT) === 0) return writeEcKey;
  if (flags === Ins.ATTEST && cls === Ins.READ && apdu.p1 === P1.DEFAULT && apdu.p2 === P2.DEFAULT) return readObjectAttested;
  const transientOk = cls === Ins.WRITE && flags === Ins.TRANSIENT;
  if (flags !== 0 && !transientOk) return 0x6a86;
  return TABLE.get(key(cls, apdu.p1, apdu.p2)) ?? 0x6a86;
}
