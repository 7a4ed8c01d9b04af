/**
 * NIST P-256's domain parameters as SetECCurveParam carries them (SEC 2 v2 §2.4.2, FIPS 186-4
 * D.1.2.3): the host sends them before its first P-256 key, the emulator accepts only these.
 */
import { CurveParam } from './applet-constants.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

/** P-256 parameters by CurveParam selector (G uncompressed, 04‖X‖Y). */
export const P256_PARAMS: Readonly<Record<number, Uint8Array>> = {
  [CurveParam.A]: hex('FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC'),
  [CurveParam.B]: hex('5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B'),
  [CurveParam.G]: hex('046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5'),
  [CurveParam.N]: hex('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551'),
  [CurveParam.PRIME]: hex('FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF'),
};
