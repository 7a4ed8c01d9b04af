/**
 * WriteBinary `80 01 06 00` (simw Se05x_API_WriteBinary): `[11 policy] 41 04 id [42 02 offset]
 * [43 02 total size] 44 data`. The first write creates the file with its total size (and policy);
 * the middleware then writes the rest in chunks at increasing offsets, which needs WRITE.
 */
import { Ar, Origin, Tag } from '../../../common/se05x/applet-constants.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { findTlv } from '../../../common/se05x/tlv.js';
import type { BinaryObject } from '../objects.js';
import { allowed, numberIn, objectIdIn, ok, sw, type Handler } from './context.js';
import { carriesPolicy, creationPolicy, storeNew, transientIns } from './create.js';

/** Largest binary file the model creates (a real part's limit is its free memory and 0x7FFF). */
export const MAX_BINARY = 0x7fff;

/** WriteBinary. */
export const writeBinary: Handler = (ctx) => {
  const id = objectIdIn(ctx.tlvs, Tag.T1);
  const offset = numberIn(ctx.tlvs, Tag.T2, [2]) ?? 0;
  const size = numberIn(ctx.tlvs, Tag.T3, [2]);
  const data = findTlv(ctx.tlvs, Tag.T4);
  if (id === undefined || Number.isNaN(offset) || Number.isNaN(size)) return sw(Sw.WRONG_DATA);
  const existing = ctx.state.objects.get(id);
  if (existing) {
    if (existing.kind !== 'binary' || size !== undefined || carriesPolicy(ctx)) return sw(Sw.CONDITIONS_NOT_SATISFIED);
    if (!data || offset + data.length > existing.data.length) return sw(Sw.WRONG_DATA);
    if (!allowed(existing, Ar.WRITE)) return sw(Sw.COMMAND_NOT_ALLOWED);
    existing.data.set(data, offset);
    return ok();
  }
  if (size === undefined || size < 1 || size > MAX_BINARY) return sw(Sw.WRONG_DATA);
  if (data && offset + data.length > size) return sw(Sw.WRONG_DATA);
  const policy = creationPolicy(ctx);
  if ('sw' in policy) return sw(policy.sw);
  const file: BinaryObject = { id, kind: 'binary', data: new Uint8Array(size), policy: policy.value, origin: Origin.EXTERNAL, transient: transientIns(ctx) };
  if (data) file.data.set(data, offset);
  const st = storeNew(ctx, file);
  return st === Sw.OK ? ok() : sw(st);
};
