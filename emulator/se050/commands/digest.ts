/**
 * DigestOneShot `80 03 00 0E` `41 01 algo 42 data`: `41` digest (simw Se05x_API_DigestOneShot;
 * DigestMode 01 SHA-1, 04 SHA-256, 05 SHA-384, 06 SHA-512).
 */
import { createHash } from 'node:crypto';
import { DigestAlgo, Tag } from '../../../common/se05x/applet-constants.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { findTlv, tlv } from '../../../common/se05x/tlv.js';
import { numberIn, ok, sw, type Handler } from './context.js';

const NAMES: Record<number, string> = { [DigestAlgo.SHA1]: 'sha1', [DigestAlgo.SHA256]: 'sha256', [DigestAlgo.SHA384]: 'sha384', [DigestAlgo.SHA512]: 'sha512' };

/** DigestOneShot. */
export const digestOneShot: Handler = ({ tlvs }) => {
  const algo = numberIn(tlvs, Tag.T1, [1]);
  const data = findTlv(tlvs, Tag.T2);
  const name = algo === undefined ? undefined : NAMES[algo];
  if (!name || !data) return sw(Sw.WRONG_DATA);
  return ok(tlv(Tag.T1, createHash(name).update(data).digest()));
};
