/**
 * Attested ReadObject `80 22 00 00` (INS READ | ATTEST; simw Se05x_API_ReadObject_W_Attst;
 * reference/se050.md §6): `41 04 id [42 02 off] [43 02 len] 45 04 attestation key 46 01 algo
 * 47 10 freshness`. The attestation key must be an EC key whose policy grants ATTESTATION, the
 * object must be readable; the answer is signed in the applet's 3.x or 7.2 layout
 * (common/se05x/attestation-format.ts), ECDSA-SHA256 (algorithm 21), DER.
 */
import { createHash } from 'node:crypto';
import { ANY_SESSION, Ar, DEFAULT_AR, SigAlgo, Tag } from '../../../common/se05x/applet-constants.js';
import { attestedSignedData, encodeAttributes, type AttestedRead } from '../../../common/se05x/attestation-format.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { findTlv, tlv } from '../../../common/se05x/tlv.js';
import { keyFromScalar } from '../../atecc608/ecc.js';
import { signDigestDer } from '../ecdsa-der.js';
import { objectTypeOf, type SecureObject } from '../objects.js';
import { allowed, numberIn, objectIdIn, ok, sw, type Handler } from './context.js';
import { timestamp } from './mgmt.js';
import { readableValue, window } from './read.js';

/** The attested read. */
export const readObjectAttested: Handler = (ctx) => {
  const { state, tlvs } = ctx;
  const id = objectIdIn(tlvs, Tag.T1);
  const keyId = objectIdIn(tlvs, Tag.T5);
  const algo = numberIn(tlvs, Tag.T6, [1]);
  const freshness = findTlv(tlvs, Tag.T7);
  if (id === undefined || keyId === undefined || algo !== SigAlgo.ECDSA_SHA_256 || !freshness || freshness.length !== 16) return sw(Sw.WRONG_DATA);
  const o = state.objects.get(id);
  const key = state.objects.get(keyId);
  if (!o || !key) return sw(Sw.WRONG_DATA);
  if (key.kind !== 'ec' || !key.d) return sw(Sw.CONDITIONS_NOT_SATISFIED);
  if (!allowed(key, Ar.ATTESTATION)) return sw(Sw.COMMAND_NOT_ALLOWED);
  const v = readableValue(o);
  if ('sw' in v) return sw(v.sw);
  const w = window(o, v.value, tlvs);
  if ('sw' in w) return sw(w.sw);

  const attributes = encodeAttributes(attributesOf(o, state.applet), state.applet);
  const fields: Omit<AttestedRead, 'signature'> = state.applet === '7.2'
    ? { applet: '7.2', data: w.value, chipId: state.uid, attributes, size: Uint8Array.of(w.value.length >> 8, w.value.length & 0xff), timestamp: timestamp(ctx) }
    : { applet: '3.1', data: w.value, attributes, timestamp: timestamp(ctx), freshness, chipId: state.uid };
  const signed = attestedSignedData(fields, ctx.apdu.withoutLe);
  const signature = signDigestDer(keyFromScalar(key.d), createHash('sha256').update(signed).digest());
  if (fields.applet === '7.2') {
    return ok(tlv(Tag.T1, fields.data), tlv(Tag.T2, fields.chipId), tlv(Tag.T3, attributes), tlv(Tag.T4, fields.size!), tlv(Tag.TIMESTAMP, fields.timestamp), tlv(Tag.SIGNATURE, signature));
  }
  return ok(tlv(Tag.T1, fields.data), tlv(Tag.T2, attributes), tlv(Tag.T3, fields.timestamp), tlv(Tag.T4, freshness), tlv(Tag.T5, fields.chipId), tlv(Tag.T6, signature));
};

/** The attributes an attested read reports for `o`. */
function attributesOf(o: SecureObject, applet: '3.1' | '7.2') {
  return {
    id: o.id,
    type: objectTypeOf(o, applet),
    authObject: false,
    attempts: 0,
    owner: 0,
    maxAttempts: 0,
    // An object made without a policy reports the applet's default: every rule for any session.
    policy: o.policy ?? [{ authId: ANY_SESSION, ar: DEFAULT_AR }],
    origin: o.origin,
    version: 0,
  };
}
