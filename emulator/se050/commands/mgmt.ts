/**
 * Management (INS 04): GetVersion, GetRandom, GetFreeMemory, GetTimestamp, CheckObjectExists,
 * DeleteSecureObject, SetLockState (simw se05x_APDU_impl.h Se05x_API_*; reference/se050.md §4).
 */
import { Ar, AppletVersion, isReservedId, Tag } from '../../../common/se05x/applet-constants.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { concatBytes, tlv, tlvU16, tlvU8, u32 } from '../../../common/se05x/tlv.js';
import { allowed, numberIn, objectIdIn, ok, sw, type AppletContext, type Handler } from './context.js';

/** GetVersion `80 04 00 20`: `41 07` major minor patch AppletConfig(2) SecureBox(2). */
export const getVersion: Handler = ({ state }) => ok(tlv(Tag.T1, AppletVersion[state.applet]));

/** GetRandom `80 04 00 49` `41 02 n`: n random bytes in `41` (1..max body). */
export const getRandom: Handler = (ctx) => {
  const n = numberIn(ctx.tlvs, Tag.T1, [2]);
  if (n === undefined || Number.isNaN(n) || n < 1 || n > 0x200) return sw(Sw.WRONG_DATA);
  return ok(tlv(Tag.T1, ctx.random(n)));
};

/**
 * GetFreeMemory `80 04 00 22` `41 01 type` (01 persistent, 02 transient reset, 03 transient
 * deselect): `41 02` bytes free, capped at 7FFF as the applet reports it.
 */
export const getFreeMemory: Handler = ({ state, tlvs }) => {
  const type = numberIn(tlvs, Tag.T1, [1]);
  if (type === undefined || !(type >= 1 && type <= 3)) return sw(Sw.WRONG_DATA);
  const free = type === 1 ? state.free() : 0x1000;
  return ok(tlvU16(Tag.T1, Math.min(free, 0x7fff)));
};

/**
 * The 12-byte timestamp (reference/se050.md §6): 4 persistent MSB bytes (+1 per session
 * open) then 8 LSB bytes counting 100 ms since the session opened.
 */
export function timestamp(ctx: Pick<AppletContext, 'state' | 'now'>): Uint8Array {
  const ticks = BigInt(Math.max(0, Math.floor((ctx.now() - ctx.state.sessionStart) / 100)));
  const low = new Uint8Array(8);
  new DataView(low.buffer).setBigUint64(0, ticks);
  return concatBytes(u32(ctx.state.timestampHigh), low);
}

/** GetTimestamp `80 04 00 3D`: `41 0C` timestamp. */
export const getTimestamp: Handler = (ctx) => ok(tlv(Tag.T1, timestamp(ctx)));

/** CheckObjectExists `80 04 00 27` `41 04 id`: `41 01` 01 yes / 02 no. */
export const checkObjectExists: Handler = ({ state, tlvs }) => {
  const id = objectIdIn(tlvs, Tag.T1);
  if (id === undefined) return sw(Sw.WRONG_DATA);
  return ok(tlvU8(Tag.T1, state.objects.has(id) ? 0x01 : 0x02));
};

/**
 * DeleteSecureObject `80 04 00 28` `41 04 id`: needs the DELETE rule for this session (so an
 * NXP-provisioned object, whose policy lacks it, and the UID stay); no such object is 6A80.
 */
export const deleteSecureObject: Handler = ({ state, tlvs }) => {
  const id = objectIdIn(tlvs, Tag.T1);
  if (id === undefined) return sw(Sw.WRONG_DATA);
  const o = state.objects.get(id);
  if (!o) return sw(Sw.WRONG_DATA);
  // Applet-reserved objects never go, whatever their policy says.
  if (isReservedId(id) && id >>> 28 !== 0xf) return sw(Sw.COMMAND_NOT_ALLOWED);
  if (!allowed(o, Ar.DELETE)) return sw(Sw.COMMAND_NOT_ALLOWED);
  state.objects.delete(id);
  return ok();
};

/**
 * SetLockState `80 04 00 3E`: changing the transport lock needs a session authenticated with the
 * transport-lock auth object 7FFF0200, which the model does not offer, so it is always refused
 * with 6982 (security status not satisfied), as a real part refuses an unauthenticated session.
 */
export const setLockState: Handler = ({ tlvs }) => {
  const ind = numberIn(tlvs, Tag.T1, [1]);
  const st = numberIn(tlvs, Tag.T2, [1]);
  if (ind === undefined || st === undefined || Number.isNaN(ind) || Number.isNaN(st)) return sw(Sw.WRONG_DATA);
  return sw(Sw.SECURITY_STATUS);
};
