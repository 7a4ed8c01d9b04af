/**
 * Counters `80 01 08 00` (simw Se05x_API_CreateCounter / IncCounter / SetCounterValue;
 * reference/se050.md §4): `[11 policy] 41 04 id 42 02 size` creates a counter of 1-8 bytes at 0;
 * `41 04 id` alone adds one; `41 04 id 43 <size> value` sets it to a value not below the
 * current one. Counters only go up: at their largest value an increment is refused (6985).
 * Reading is ReadObject (the value big-endian, `size` bytes).
 */
import { Ar, Origin, Tag } from '../../../common/se05x/applet-constants.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { beNumber, findTlv } from '../../../common/se05x/tlv.js';
import type { CounterObject } from '../objects.js';
import { allowed, numberIn, objectIdIn, ok, sw, type Handler } from './context.js';
import { carriesPolicy, creationPolicy, storeNew, transientIns } from './create.js';

/** The counter command. */
export const counter: Handler = (ctx) => {
  const id = objectIdIn(ctx.tlvs, Tag.T1);
  const size = numberIn(ctx.tlvs, Tag.T2, [1, 2]);
  const value = findTlv(ctx.tlvs, Tag.T3);
  if (id === undefined || Number.isNaN(size)) return sw(Sw.WRONG_DATA);
  const existing = ctx.state.objects.get(id);
  if (size !== undefined) {
    if (existing) return sw(Sw.CONDITIONS_NOT_SATISFIED);
    if (size < 1 || size > 8) return sw(Sw.WRONG_DATA);
    const policy = creationPolicy(ctx);
    if ('sw' in policy) return sw(policy.sw);
    const c: CounterObject = { id, kind: 'counter', size, value: 0n, policy: policy.value, origin: Origin.EXTERNAL, transient: transientIns(ctx) };
    if (value) {
      if (value.length !== size) return sw(Sw.WRONG_DATA);
      c.value = big(value);
    }
    const st = storeNew(ctx, c);
    return st === Sw.OK ? ok() : sw(st);
  }
  if (!existing) return sw(Sw.WRONG_DATA);
  if (existing.kind !== 'counter' || carriesPolicy(ctx)) return sw(Sw.CONDITIONS_NOT_SATISFIED);
  if (!allowed(existing, Ar.WRITE)) return sw(Sw.COMMAND_NOT_ALLOWED);
  const max = (1n << BigInt(8 * existing.size)) - 1n;
  if (value) {
    if (value.length !== existing.size) return sw(Sw.WRONG_DATA);
    const v = big(value);
    if (v < existing.value) return sw(Sw.WRONG_DATA);
    existing.value = v;
    return ok();
  }
  if (existing.value >= max) return sw(Sw.CONDITIONS_NOT_SATISFIED);
  existing.value += 1n;
  return ok();
};

function big(b: Uint8Array): bigint {
  return b.length <= 4 ? BigInt(beNumber(b)) : BigInt('0x' + Buffer.from(b).toString('hex'));
}
