/**
 * Issue 15: chip serials of both secure elements, one pattern for every schema, topic and cursor
 * that names a unit. An ATECC608 serial is 18 hex digits, an SE050 unique id 36; nothing else.
 */
import t from 'tap';
import { CHIP_SERIAL_RE, chipOfSerialHex } from '../../common/chip-serial.js';
import { chipSerial } from '../../common/protocol/station-api.js';
import { enrollmentSignedBytes, parseRequestTopic, serialSchema } from '../../common/protocol/enrollment.js';
import { revocationRequest } from '../../common/protocol/revocation.js';
import { decodeCursor, encodeCursor } from '../../server/store/cursor.js';

const ATECC = '0123456789ABCDEF01';
const SE050 = '04005001' + '00112233445566778899AABBCCDD';

t.test('18 or 36 upper-case hex digits, and which chip each length is', async (t) => {
  t.ok(CHIP_SERIAL_RE.test(ATECC));
  t.ok(CHIP_SERIAL_RE.test(SE050));
  for (const bad of ['', ATECC.slice(1), ATECC + '0', SE050 + '00', SE050.slice(2), ATECC.toLowerCase(), 'G'.repeat(18), ATECC + '\n']) t.notOk(CHIP_SERIAL_RE.test(bad), JSON.stringify(bad));
  t.equal(chipOfSerialHex(ATECC), 'atecc608');
  t.equal(chipOfSerialHex(SE050), 'se050');
  t.equal(chipOfSerialHex('00'), null);
});

t.test('the station API normalises either serial to upper case and refuses other lengths', async (t) => {
  t.equal(chipSerial.parse(SE050.toLowerCase()), SE050);
  t.equal(chipSerial.parse(ATECC.toLowerCase()), ATECC);
  for (const bad of ['0'.repeat(20), '0'.repeat(34), '0'.repeat(38)]) t.notOk(chipSerial.safeParse(bad).success, `${bad.length} digits refused`);
  t.ok(revocationRequest.safeParse({ serial: SE050, reason: 'keyCompromise' }).success);
  t.notOk(revocationRequest.safeParse({ serial: '0'.repeat(20), reason: 'keyCompromise' }).success);
});

t.test('enrollment: topics, serial schema and signed bytes carry the SE050 unique id', async (t) => {
  t.same(parseRequestTopic(`keyline/v1/devices/${SE050}/enroll/req`), { serial: SE050, channel: 'req' });
  t.equal(parseRequestTopic(`keyline/v1/devices/${SE050}00/enroll/req`), null);
  t.ok(serialSchema.safeParse(SE050).success);
  const base = { nonce: new Uint8Array(32).fill(1), counter: 7, certFingerprint: new Uint8Array(32).fill(2) };
  t.equal(enrollmentSignedBytes({ ...base, serial: Buffer.from(ATECC, 'hex') }).length, 94);
  const se = enrollmentSignedBytes({ ...base, serial: Buffer.from(SE050, 'hex') });
  t.equal(se.length, 103, '17 + 32 + 4 + 18 + 32');
  t.equal(Buffer.from(se.subarray(53, 71)).toString('hex').toUpperCase(), SE050, 'the 18 id bytes after the counter');
  t.throws(() => enrollmentSignedBytes({ ...base, serial: new Uint8Array(10) }), RangeError);
});

t.test('a units cursor after an SE050 serial decodes', async (t) => {
  t.equal(decodeCursor(encodeCursor(SE050)), SE050);
  t.throws(() => decodeCursor(encodeCursor('0'.repeat(20))), { code: 'VALIDATION_FAILED' });
});
