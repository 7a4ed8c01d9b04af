import t from 'tap';
import { canonicalConfigJson, enrollmentSignedBytes, parseRequestTopic, topicSerial } from '../../../common/protocol/enrollment.js';
import { mosquittoAcl } from '../../../server/enroll/acl.js';
import { DEFAULT_BROKER_LIMITS } from '../../../server/enroll/broker-limits.js';
import { mosquittoConfFragment, mosquittoLimits } from '../../../server/enroll/mosquitto-conf.js';
import { mayPublish, maySubscribe } from '../../../server/enroll/device-acl.js';
import { assignGroup } from '../../../server/enroll/group-rules.js';
import { toWireError } from '../../../server/enroll/handler.js';
import { DeviceRequestLimiter } from '../../../server/enroll/device-request-limiter.js';
import { topicMatches } from '../../../server/enroll/topic-match.js';
import { KeylineError } from '../../../common/errors.js';

const A = '0123456789ABCDEF01';
const B = '0123456789ABCDEF02';
const root = 'keyline/v1/devices';

t.test('device topic policy', async (t) => {
  const cert = { kind: 'certificate' as const, serial: A };
  const plain = { kind: 'client-id' as const, serial: A };
  t.ok(mayPublish(plain, `${root}/${A}/enroll/req`));
  t.notOk(mayPublish(plain, `${root}/${A}/enroll/mtls`), 'mTLS topic needs a verified certificate');
  t.ok(mayPublish(cert, `${root}/${A}/enroll/mtls`));
  t.notOk(mayPublish(cert, `${root}/${A}/enroll/res`), 'answers are the server\'s');
  t.notOk(mayPublish(cert, `${root}/${B}/enroll/req`));
  t.notOk(mayPublish(cert, `${root}/${A}`), 'the serial level itself is not a device topic');
  t.notOk(mayPublish(plain, `${root}/${A}/blob`), 'issue 11: nothing but the request topics, even below its own serial');
  t.notOk(mayPublish(cert, `${root}/${A}/enroll/req/x`));
  t.ok(mayPublish({ kind: 'service' }, `${root}/${B}/enroll/res`));
  t.ok(maySubscribe(plain, `${root}/${A}/enroll/res`));
  t.ok(maySubscribe(plain, `${root}/${A}/#`));
  for (const f of [`${root}/${B}/enroll/res`, `${root}/+/enroll/res`, `${root}/#`, '#', `$share/g/${root}/${A}/enroll/res`, `${root}/${A}`]) {
    t.notOk(maySubscribe(plain, f), f);
  }
});

t.test('topic matching (MQTT §4.7)', async (t) => {
  t.ok(topicMatches(`${root}/+/enroll/req`, `${root}/${A}/enroll/req`));
  t.ok(topicMatches(`$share/keyline-enroll/${root}/+/enroll/req`, `${root}/${A}/enroll/req`));
  t.notOk(topicMatches(`${root}/+/enroll/req`, `${root}/${A}/enroll/mtls`));
  t.notOk(topicMatches(`${root}/+/enroll/req`, `${root}/${A}/enroll/req/x`));
  t.ok(topicMatches('a/#', 'a'), '# matches the parent level');
  t.notOk(topicMatches('#', '$SYS/x'));
  t.same(parseRequestTopic(`${root}/${A}/enroll/mtls`), { serial: A, channel: 'mtls' });
  t.equal(parseRequestTopic(`${root}/${A.toLowerCase()}/enroll/req`), null);
  t.equal(topicSerial(`${root}/${A}/x`), A);
});

t.test('canonical config JSON: sorted keys (UTF-16 order, integer-like keys too), no whitespace', async (t) => {
  t.equal(canonicalConfigJson({ b: 1, a: [true, null, 'x"y'], '10': 1, '9': 2, é: 0, Z: { d: 1.5, c: -0 } }), '{"10":1,"9":2,"Z":{"c":0,"d":1.5},"a":[true,null,"x\\"y"],"b":1,"é":0}');
  t.throws(() => canonicalConfigJson({ x: Number.NaN }));
  t.throws(() => canonicalConfigJson({ x: () => 1 }));
});

t.test('signed bytes layout: context ‖ nonce ‖ counter BE ‖ serial ‖ fingerprint', async (t) => {
  const b = Buffer.from(enrollmentSignedBytes({ nonce: Buffer.alloc(32, 0xaa), counter: 0x01020304, serial: Buffer.alloc(9, 0xbb), certFingerprint: Buffer.alloc(32, 0xcc) }));
  t.equal(b.length, 94);
  t.equal(b.subarray(0, 17).toString('ascii'), 'keyline-enroll-v1');
  t.equal(b.subarray(49, 53).toString('hex'), '01020304');
  t.equal(b.subarray(53, 62).toString('hex'), 'bb'.repeat(9));
  t.throws(() => enrollmentSignedBytes({ nonce: Buffer.alloc(31), counter: 1, serial: Buffer.alloc(9), certFingerprint: Buffer.alloc(32) }));
  t.throws(() => enrollmentSignedBytes({ nonce: Buffer.alloc(32), counter: 2 ** 32, serial: Buffer.alloc(9), certFingerprint: Buffer.alloc(32) }));
});

t.test('group rules: first match, every given field must match, else the default', async (t) => {
  const rules = [
    { match: { product: 'P', workOrder: 'W2' }, group: 'p-w2', config: {} },
    { match: { product: 'P' }, group: 'p', config: {} },
    { match: {}, group: 'all', config: {} },
  ];
  const dflt = { group: 'default', config: {} };
  t.equal(assignGroup(rules, dflt, { product: 'P', workOrder: 'W2' }).group, 'p-w2');
  t.equal(assignGroup(rules, dflt, { product: 'P', workOrder: 'W1' }).group, 'p');
  t.equal(assignGroup(rules, dflt, { product: 'Q', workOrder: 'W1' }).group, 'all');
  t.equal(assignGroup([], dflt, { product: 'Q', workOrder: 'W1' }).group, 'default');
});

t.test('rate limiter: a burst of perMinute, then refill over time', async (t) => {
  let now = 0;
  const rl = new DeviceRequestLimiter({ perMinute: 2, now: () => now });
  t.equal(rl.take(A), 0);
  t.equal(rl.take(A), 0);
  t.equal(rl.take(A), 30, 'one token every 30 s');
  t.equal(rl.take(B), 0, 'per device');
  now += 30_000;
  t.equal(rl.take(A), 0);
});

t.test('wire mapping: enrollment codes pass through, unexposed errors become INTERNAL', async (t) => {
  t.same(toWireError(new KeylineError('REPLAYED', 'counter: 1')), { code: 'REPLAYED', message: 'counter: 1' });
  t.same(toWireError(new KeylineError('UNKNOWN_UNIT', 'x')).code, 'UNKNOWN_DEVICE');
  t.same(toWireError(new KeylineError('STORE_ERROR', 'disk')), { code: 'INTERNAL', message: 'internal error; retry later' });
  t.same(toWireError(new Error('boom')).code, 'INTERNAL');
});

t.test('Mosquitto ACL: service user, %u device patterns, no %c unless asked', async (t) => {
  const acl = mosquittoAcl({ serviceUser: 'svc' });
  t.match(acl, /^user svc\ntopic readwrite keyline\/v1\/devices\/#$/m);
  t.match(acl, /^pattern write keyline\/v1\/devices\/%u\/enroll\/mtls$/m);
  t.match(acl, /^pattern read keyline\/v1\/devices\/%u\/enroll\/res$/m);
  t.notMatch(acl, /%c/);
  const withIds = mosquittoAcl({ serviceUser: 'svc', clientIdDevices: true });
  t.match(withIds, /^pattern write keyline\/v1\/devices\/%c\/enroll\/req$/m);
  t.notMatch(withIds, /%c\/enroll\/mtls/, 'client-id devices never get the mTLS topic');
});

t.test('Mosquitto limit lines (issue 11): no retained messages, QoS at most 1, the whole packet counted', async (t) => {
  const m = mosquittoLimits({ ...DEFAULT_BROKER_LIMITS, maxPacketBytes: 1000, maxConnections: 7 });
  t.ok(m.global.includes('retain_available false'));
  t.ok(m.global.includes('max_packet_size 1005'), 'Remaining Length + at most 5 header bytes');
  t.same(m.listener, ['max_qos 1', 'max_connections 7']);
  t.match(mosquittoConfFragment(), /Not enforceable by stock Mosquitto/);
});
