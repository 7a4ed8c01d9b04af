/**
 * Curve management (P1 0B): ReadECCurveList, CreateECCurve, SetECCurveParam, GetECCurveId,
 * DeleteECCurve. Only NIST P-256 (curve id 03) is modelled; its parameters must be exactly the
 * standard ones (SEC 2 §2.4.2 / FIPS 186-4 D.1.2.3), as the host middleware sends them before
 * the first P-256 key (reference/se050.md §4).
 */
import { Curve, Tag } from '../../../common/se05x/applet-constants.js';
import { P256_PARAMS } from '../../../common/se05x/p256-params.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { findTlv, tlv, tlvU8 } from '../../../common/se05x/tlv.js';
import { numberIn, objectIdIn, ok, sw, type Handler } from './context.js';

/** ReadECCurveList `80 02 0B 25`: `41 11` one byte per curve id 1..17, 01 not set / 02 set. */
export const readCurveList: Handler = ({ state }) => {
  const list = new Uint8Array(17).fill(0x01);
  for (const [id, c] of state.curves) if (id >= 1 && id <= 17 && c.params === 0x1f) list[id - 1] = 0x02;
  return ok(tlv(Tag.T1, list));
};

/** CreateECCurve `80 01 0B 04` `41 01 id`: 6985 if it exists, 6A80 for a curve not modelled. */
export const createCurve: Handler = ({ state, tlvs }) => {
  const id = numberIn(tlvs, Tag.T1, [1]);
  if (id !== Curve.NIST_P256) return sw(Sw.WRONG_DATA);
  if (state.curves.has(id)) return sw(Sw.CONDITIONS_NOT_SATISFIED);
  state.curves.set(id, { params: 0 });
  return ok();
};

/** SetECCurveParam `80 01 0B 40` `41 01 id 42 01 param 43 value`: the value must be P-256's. */
export const setCurveParam: Handler = ({ state, tlvs }) => {
  const id = numberIn(tlvs, Tag.T1, [1]);
  const param = numberIn(tlvs, Tag.T2, [1]);
  const value = findTlv(tlvs, Tag.T3);
  const curve = id === undefined ? undefined : state.curves.get(id);
  if (!curve) return sw(Sw.CONDITIONS_NOT_SATISFIED);
  const want = param === undefined ? undefined : P256_PARAMS[param];
  if (!want || !value || !Buffer.from(want).equals(Buffer.from(value))) return sw(Sw.WRONG_DATA);
  curve.params |= want ? param! : 0;
  return ok();
};

/** GetECCurveId `80 02 0B 36` `41 04 id`: `41 01 curve` of an EC key object. */
export const getCurveId: Handler = ({ state, tlvs }) => {
  const id = objectIdIn(tlvs, Tag.T1);
  const o = id === undefined ? undefined : state.objects.get(id);
  if (!o || o.kind !== 'ec') return sw(Sw.WRONG_DATA);
  return ok(tlvU8(Tag.T1, o.curve));
};

/** DeleteECCurve `80 04 0B 28` `41 01 id`: forgets the curve; keys made on it keep working. */
export const deleteCurve: Handler = ({ state, tlvs }) => {
  const id = numberIn(tlvs, Tag.T1, [1]);
  if (id === undefined || !state.curves.has(id)) return sw(Sw.WRONG_DATA);
  state.curves.delete(id);
  return ok();
};
