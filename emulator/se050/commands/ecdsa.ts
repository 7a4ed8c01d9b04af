/**
 * ECDSASign `80 03 0C 09` and ECDSAVerify `80 03 0C 0A` (simw Se05x_API_ECDSASign / ECDSAVerify):
 * `41 04 id`, `42 01 algo`, `43 digest` (and `45 DER signature` to verify). Algorithm 21 signs a
 * SHA-256 digest (32 bytes), 22 SHA-384 (48), 26 SHA-512 (64), 11 SHA-1 (20); 09 takes a raw
 * input of at most 64 bytes. The key's policy must grant SIGN (resp. VERIFY).
 */
import { Ar, SigAlgo, Tag } from '../../../common/se05x/applet-constants.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { findTlv, tlv, tlvU8 } from '../../../common/se05x/tlv.js';
import { keyFromScalar } from '../../atecc608/ecc.js';
import { signDigestDer, verifyDigestDer } from '../ecdsa-der.js';
import type { EcKeyObject } from '../objects.js';
import { allowed, numberIn, objectIdIn, ok, sw, type AppletContext, type Answer, type Handler } from './context.js';

const DIGEST_LEN: Record<number, number> = { [SigAlgo.ECDSA_SHA]: 20, [SigAlgo.ECDSA_SHA_256]: 32, [SigAlgo.ECDSA_SHA_384]: 48, [SigAlgo.ECDSA_SHA_512]: 64 };

/** The key, algorithm and digest of a sign or verify request, or the status refusing them. */
function operands(ctx: AppletContext, rule: number): { key: EcKeyObject; digest: Uint8Array } | Answer {
  const id = objectIdIn(ctx.tlvs, Tag.T1);
  const algo = numberIn(ctx.tlvs, Tag.T2, [1]);
  const digest = findTlv(ctx.tlvs, Tag.T3);
  if (id === undefined || algo === undefined || !digest) return sw(Sw.WRONG_DATA);
  const want = DIGEST_LEN[algo];
  if (algo === SigAlgo.ECDSA_PLAIN ? digest.length === 0 || digest.length > 64 : want === undefined || digest.length !== want) return sw(Sw.WRONG_DATA);
  const o = ctx.state.objects.get(id);
  if (!o) return sw(Sw.WRONG_DATA);
  if (o.kind !== 'ec') return sw(Sw.CONDITIONS_NOT_SATISFIED);
  if (!allowed(o, rule)) return sw(Sw.COMMAND_NOT_ALLOWED);
  return { key: o, digest };
}

/** ECDSASign: `41` DER signature. */
export const ecdsaSign: Handler = (ctx) => {
  const r = operands(ctx, Ar.SIGN);
  if ('sw' in r) return r;
  if (!r.key.d) return sw(Sw.CONDITIONS_NOT_SATISFIED);
  return ok(tlv(Tag.T1, signDigestDer(keyFromScalar(r.key.d), r.digest)));
};

/** ECDSAVerify: `41 01` 01 valid / 02 invalid; a signature that is not DER is 6A80. */
export const ecdsaVerify: Handler = (ctx) => {
  const r = operands(ctx, Ar.VERIFY);
  if ('sw' in r) return r;
  const sig = findTlv(ctx.tlvs, Tag.T5);
  if (!sig) return sw(Sw.WRONG_DATA);
  const good = verifyDigestDer(r.key.pub, r.digest, sig);
  if (good === null) return sw(Sw.WRONG_DATA);
  return ok(tlvU8(Tag.T1, good ? 0x01 : 0x02));
};
