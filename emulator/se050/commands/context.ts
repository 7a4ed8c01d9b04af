/**
 * What a command handler sees and returns. Handlers parse their TLVs, check the object's policy
 * and state, apply the effect and answer response data with a status word; they never throw on
 * input (the applet wraps any slip as 6F00, which tests assert never happens).
 */
import { randomBytes } from 'node:crypto';
import { ANY_SESSION, Ar } from '../../../common/se05x/applet-constants.js';
import type { CommandApdu } from '../../../common/se05x/apdu.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { beNumber, concatBytes, findTlv, type Se05xTlv } from '../../../common/se05x/tlv.js';
import type { SecureObject } from '../objects.js';
import type { Se050State } from '../state.js';

/** A handler's answer: response data (TLVs) and the status word. */
export interface Answer {
  data: Uint8Array;
  sw: number;
}

/** The chip as a handler sees it. */
export interface AppletContext {
  state: Se050State;
  apdu: CommandApdu;
  /** The body's TLVs (handlers that take none ignore them). */
  tlvs: readonly Se05xTlv[];
  /** The clock (ms), for the timestamp. */
  now(): number;
  /** The chip's RNG. */
  random(n: number): Uint8Array;
}

/** One command's handler. */
export type Handler = (ctx: AppletContext) => Answer;

/** A status-only answer. */
export const sw = (code: number): Answer => ({ data: new Uint8Array(0), sw: code });

/** A 9000 answer carrying `parts` (already-encoded TLVs). */
export const ok = (...parts: Uint8Array[]): Answer => ({ data: concatBytes(...parts), sw: Sw.OK });

/** The default RNG. */
export const chipRandom = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** The 4-byte object id in tag `tag`, or undefined when absent or not 4 bytes. */
export function objectIdIn(tlvs: readonly Se05xTlv[], tag: number): number | undefined {
  const v = findTlv(tlvs, tag);
  return v && v.length === 4 ? beNumber(v) >>> 0 : undefined;
}

/** A 1- or 2-byte big-endian number in tag `tag`, or undefined when absent; NaN when the wrong size. */
export function numberIn(tlvs: readonly Se05xTlv[], tag: number, sizes: readonly number[] = [1, 2]): number | undefined {
  const v = findTlv(tlvs, tag);
  if (v === undefined) return undefined;
  return sizes.includes(v.length) ? beNumber(v) : NaN;
}

/**
 * True when the default session (the only one the model has: no authenticated sessions) may
 * perform `ar` on `o`. An object created without a policy allows everything; one with a policy
 * allows only what its any-session entry grants, and nothing under FORBID_ALL
 * (simw fsl_sss_se05x_policy.c; reference/se050.md §5). Entries for other auth ids grant this
 * session nothing, which is how "delete by the wrong party" is refused.
 */
export function allowed(o: SecureObject, ar: number): boolean {
  if (o.policy === null) return true;
  const entry = o.policy.find((e) => e.authId === ANY_SESSION);
  if (!entry) return false;
  if ((entry.ar & Ar.FORBID_ALL) !== 0) return false;
  return (entry.ar & ar) === ar;
}

/** A value, or the status word that refused it. */
export type AnswerOr<T> = { value: T } | { sw: number };
