/**
 * WriteECKey `80 01 P1 00` with P1 = part (PAIR 60, PRIVATE 40, PUBLIC 20) | EC (01)
 * (simw Se05x_API_WriteECKey; reference/se050.md §4): `[11 policy] 41 04 id 42 01 curve
 * [43 d] [44 04‖X‖Y]`. A pair without 43/44 is generated inside the chip (origin internal);
 * otherwise the given key is imported (origin external) after checking it is a P-256 key whose
 * halves match. Over an existing key, generation needs GEN and import needs WRITE; the curve
 * must have been created with its parameters first.
 */
import { Ar, Origin, P1, Tag } from '../../../common/se05x/applet-constants.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { findTlv } from '../../../common/se05x/tlv.js';
import { isOnCurve, isValidScalar, keyFromScalar, randomScalar, toBytes } from '../../atecc608/ecc.js';
import type { EcKeyObject } from '../objects.js';
import { allowed, numberIn, objectIdIn, ok, sw, type Handler } from './context.js';
import { carriesPolicy, creationPolicy, storeNew, transientIns } from './create.js';

const PARTS = { [P1.PAIR]: 'pair', [P1.PRIVATE]: 'private', [P1.PUBLIC]: 'public' } as const;

const point = (pub: Uint8Array) => {
  const p = new Uint8Array(65);
  p[0] = 0x04;
  p.set(pub, 1);
  return p;
};

/** WriteECKey. */
export const writeEcKey: Handler = (ctx) => {
  const part = PARTS[(ctx.apdu.p1 & P1.PART_MASK) as keyof typeof PARTS];
  const id = objectIdIn(ctx.tlvs, Tag.T1);
  const curve = numberIn(ctx.tlvs, Tag.T2, [1]);
  const d = findTlv(ctx.tlvs, Tag.T3);
  const pub = findTlv(ctx.tlvs, Tag.T4);
  if (!part || id === undefined || Number.isNaN(curve)) return sw(Sw.WRONG_DATA);
  const existing = ctx.state.objects.get(id);
  if (existing && (existing.kind !== 'ec' || existing.part !== part || carriesPolicy(ctx))) return sw(Sw.CONDITIONS_NOT_SATISFIED);
  const curveId = curve ?? existing?.curve;
  if (curveId === undefined) return sw(Sw.WRONG_DATA);
  if (existing && existing.curve !== curveId) return sw(Sw.CONDITIONS_NOT_SATISFIED);
  if (!existing && !ctx.state.curveReady(curveId)) return sw(Sw.CONDITIONS_NOT_SATISFIED);

  const generate = !d && !pub;
  let key: Pick<EcKeyObject, 'd' | 'pub'>;
  if (generate) {
    if (part !== 'pair') return sw(Sw.WRONG_DATA);
    const k = keyFromScalar(randomScalar());
    key = { d: toBytes(k.d), pub: point(k.publicKey) };
  } else {
    const imported = importedKey(part, d, pub);
    if (!imported) return sw(Sw.WRONG_DATA);
    key = imported;
  }

  if (existing) {
    if (!allowed(existing, generate ? Ar.GEN : Ar.WRITE)) return sw(Sw.COMMAND_NOT_ALLOWED);
    existing.pub = key.pub;
    if (key.d) existing.d = key.d;
    existing.origin = generate ? Origin.INTERNAL : Origin.EXTERNAL;
    return ok();
  }
  const policy = creationPolicy(ctx);
  if ('sw' in policy) return sw(policy.sw);
  const o: EcKeyObject = { id, kind: 'ec', part, curve: curveId, pub: key.pub, policy: policy.value, origin: generate ? Origin.INTERNAL : Origin.EXTERNAL, transient: transientIns(ctx) };
  if (key.d) o.d = key.d;
  const st = storeNew(ctx, o);
  return st === Sw.OK ? ok() : sw(st);
};

/** The imported key, checked: d in range, the point on P-256, and a pair's halves matching. */
function importedKey(part: EcKeyObject['part'], d: Uint8Array | undefined, pub: Uint8Array | undefined): Pick<EcKeyObject, 'd' | 'pub'> | null {
  if (pub && (pub.length !== 65 || pub[0] !== 0x04 || !isOnCurve(pub.subarray(1)))) return null;
  if (d && (d.length !== 32 || !isValidScalar(d))) return null;
  if (part === 'public') return pub && !d ? { pub: pub.slice() } : null;
  if (!d) return null;
  const derived = point(keyFromScalar(d).publicKey);
  if (pub && !Buffer.from(pub).equals(Buffer.from(derived))) return null;
  return { d: d.slice(), pub: derived };
}
