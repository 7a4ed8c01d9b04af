/**
 * What every creating Write shares: the policy TLV (parsed once, immutable after), the ids a host
 * may not create (applet-reserved 7FFFxxxx and 7DA0xxxx, NXP's Fxxxxxxx), and the memory check.
 */
import { Ins, Tag } from '../../../common/se05x/applet-constants.js';
import { parsePolicy, type PolicyEntry } from '../../../common/se05x/policy.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { findTlv } from '../../../common/se05x/tlv.js';
import { isReservedId } from '../../../common/se05x/applet-constants.js';
import { objectFootprint, type SecureObject } from '../objects.js';
import type { AnswerOr, AppletContext } from './context.js';

/** The policy a creating Write carries (null = none given), or 6984 when malformed. */
export function creationPolicy(ctx: AppletContext): AnswerOr<PolicyEntry[] | null> {
  const raw = findTlv(ctx.tlvs, Tag.POLICY);
  if (raw === undefined) return { value: null };
  const p = parsePolicy(raw);
  return p && p.length > 0 ? { value: p } : { sw: Sw.INVALID_POLICY };
}

/** True when the Write carries a policy: only a creating Write may (policies are immutable). */
export const carriesPolicy = (ctx: AppletContext): boolean => findTlv(ctx.tlvs, Tag.POLICY) !== undefined;

/** Stores a new object after the reserved-id and memory checks; the status word of the outcome. */
export function storeNew(ctx: AppletContext, o: SecureObject): number {
  if (isReservedId(o.id)) return Sw.CONDITIONS_NOT_SATISFIED;
  if (!o.transient && objectFootprint(o) > ctx.state.free()) return Sw.FILE_FULL;
  ctx.state.objects.set(o.id, o);
  return Sw.OK;
}

/** True when the INS carries the TRANSIENT flag. */
export const transientIns = (ctx: AppletContext): boolean => (ctx.apdu.ins & Ins.TRANSIENT) !== 0;
