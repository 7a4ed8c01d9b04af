/**
 * Object reads (INS 02, P1 00): ReadType, ReadSize, ReadIDList (paged), ReadCryptoObjectList,
 * ReadObject with offset/length (reference/se050.md §4). READ on an EC pair gives its public key
 * only (§5): the private part never leaves.
 */
import { Ar, Tag } from '../../../common/se05x/applet-constants.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { concatBytes, tlv, tlvU16, tlvU8, u32 } from '../../../common/se05x/tlv.js';
import { objectSize, objectTypeOf, type SecureObject } from '../objects.js';
import { allowed, numberIn, objectIdIn, ok, sw, type AnswerOr, type Handler } from './context.js';

/** Ids per ReadIDList page (a real part fits as many as its response buffer takes; paging is what matters). */
export const ID_LIST_PAGE = 32;

/** ReadType `80 02 00 26` `41 04 id`: `41 01 type`, `42 01` 01 persistent / 02 transient. */
export const readType: Handler = ({ state, tlvs }) => {
  const id = objectIdIn(tlvs, Tag.T1);
  const o = id === undefined ? undefined : state.objects.get(id);
  if (!o) return sw(Sw.WRONG_DATA);
  return ok(tlvU8(Tag.T1, objectTypeOf(o, state.applet)), tlvU8(Tag.T2, o.transient ? 0x02 : 0x01));
};

/** ReadSize `80 02 00 07` `41 04 id`: `41 02` size (key bytes, file bytes, counter bytes). */
export const readSize: Handler = ({ state, tlvs }) => {
  const id = objectIdIn(tlvs, Tag.T1);
  const o = id === undefined ? undefined : state.objects.get(id);
  if (!o) return sw(Sw.WRONG_DATA);
  return ok(tlvU16(Tag.T1, objectSize(o)));
};

/**
 * ReadIDList `80 02 00 25` `41 02 offset 42 01 filter`: `41 01` 01 no more / 02 more, `42` ids
 * (4 bytes each) from entry `offset`, in creation order; filter FF = every type, else one type byte.
 */
export const readIdList: Handler = ({ state, tlvs }) => {
  const offset = numberIn(tlvs, Tag.T1, [2]);
  const filter = numberIn(tlvs, Tag.T2, [1]);
  if (offset === undefined || filter === undefined || Number.isNaN(offset) || Number.isNaN(filter)) return sw(Sw.WRONG_DATA);
  const ids = [...state.objects.values()].filter((o) => filter === 0xff || objectTypeOf(o, state.applet) === filter).map((o) => o.id);
  const page = ids.slice(offset, offset + ID_LIST_PAGE);
  const more = offset + ID_LIST_PAGE < ids.length;
  return ok(tlvU8(Tag.T1, more ? 0x02 : 0x01), tlv(Tag.T2, concatBytes(...page.map(u32))));
};

/** ReadCryptoObjectList `80 02 10 25`: `41 00` (the model keeps no digest/cipher contexts). */
export const readCryptoObjectList: Handler = () => ok(tlv(Tag.T1, new Uint8Array(0)));

/**
 * The readable value of an object, or the status word refusing it: READ must be granted; an EC
 * private key alone has no readable part (6985).
 */
export function readableValue(o: SecureObject): AnswerOr<Uint8Array> {
  if (!allowed(o, Ar.READ)) return { sw: Sw.COMMAND_NOT_ALLOWED };
  if (o.kind === 'binary') return { value: o.data };
  if (o.kind === 'counter') {
    const v = new Uint8Array(o.size);
    let x = o.value;
    for (let i = o.size - 1; i >= 0; i--, x >>= 8n) v[i] = Number(x & 0xffn);
    return { value: v };
  }
  if (o.part === 'private') return { sw: Sw.CONDITIONS_NOT_SATISFIED };
  return { value: o.pub };
}

/** Applies optional `42 02` offset and `43 02` length (binary files only); 6A80 out of range. */
export function window(o: SecureObject, value: Uint8Array, tlvs: Parameters<Handler>[0]['tlvs']): AnswerOr<Uint8Array> {
  const off = numberIn(tlvs, Tag.T2, [2]);
  const len = numberIn(tlvs, Tag.T3, [2]);
  if (off === undefined && len === undefined) return { value };
  if (Number.isNaN(off) || Number.isNaN(len) || o.kind !== 'binary') return { sw: Sw.WRONG_DATA };
  const start = off ?? 0;
  const end = len === undefined ? value.length : start + len;
  if (start > value.length || end > value.length || end < start) return { sw: Sw.WRONG_DATA };
  return { value: value.subarray(start, end) };
}

/** ReadObject `80 02 00 00` `41 04 id [42 02 offset] [43 02 length]`: `41` value. */
export const readObject: Handler = ({ state, tlvs }) => {
  const id = objectIdIn(tlvs, Tag.T1);
  const o = id === undefined ? undefined : state.objects.get(id);
  if (!o) return sw(Sw.WRONG_DATA);
  const v = readableValue(o);
  if ('sw' in v) return sw(v.sw);
  const w = window(o, v.value, tlvs);
  if ('sw' in w) return sw(w.sw);
  return ok(tlv(Tag.T1, w.value));
};
