/**
 * Re-enrollment's rules (evaluateReissue) on snapshots: which key may be certified again.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { evaluateReissue, type ReissueSnapshot } from '../../../server/services/reissue-unit.js';
import type { ChipSerial } from '../../../common/protocol/station-api.js';
import { buildUnit } from '../store/build.js';

const current = randomBytes(64);
const unit = buildUnit({ publicKey: current, status: 'confirmed' });
const supersededWith = (publicKey: Uint8Array) => ({
  certificateSerial: randomBytes(16).toString('hex'), serial: unit.serial, publicKey, fingerprintSha256: 'f'.repeat(64),
  certificateDer: randomBytes(40), supersededAt: '2026-01-01T00:00:00.000Z', supersededBy: unit.certificateSerial,
});
const snap = (publicKey: Uint8Array, allowKeyReuse: boolean, keyHistory: ReissueSnapshot['keyHistory']): ReissueSnapshot => ({
  req: { serial: unit.serial as ChipSerial, publicKey, presentedCertificateSerial: unit.certificateSerial, allowKeyReuse, revokeSuperseded: false },
  unit, byKey: Buffer.from(publicKey).equals(current) ? unit : null, keyHistory, presentedSuperseded: null, presentedRevoked: false,
});

t.test('the current key, reuse allowed: re-certified again however often it was before', async (t) => {
  t.same(evaluateReissue(snap(current, true, [supersededWith(current), supersededWith(current)])), { replay: false, unit });
});

t.test('the current key, reuse not allowed: KEY_REUSE_NOT_ALLOWED', async (t) => {
  t.throws(() => evaluateReissue(snap(current, false, [])), { code: 'KEY_REUSE_NOT_ALLOWED' });
});

t.test('an earlier (superseded) key of the unit is never certified again, reuse allowed or not', async (t) => {
  const earlier = randomBytes(64);
  for (const allow of [true, false]) t.throws(() => evaluateReissue(snap(earlier, allow, [supersededWith(earlier)])), { code: 'KEY_REUSE_NOT_ALLOWED' });
});

t.test('a new key: re-certified', async (t) => {
  t.same(evaluateReissue(snap(randomBytes(64), false, [])), { replay: false, unit });
});
