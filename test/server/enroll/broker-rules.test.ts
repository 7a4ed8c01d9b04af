/**
 * The embedded broker's per-connection rules and client-id policy as pure logic (issue 11): the
 * publish rules and token bucket, the subscription cap, the claims on client ids, the binding cache.
 */
import t from 'tap';
import { ClientIdClaims } from '../../../server/enroll/client-id-claims.js';
import { ClientLimits } from '../../../server/enroll/client-limits.js';
import { TokenBucket } from '../../../common/token-bucket.js';
import { withBindingCache, type DeviceAdmission } from '../../../server/enroll/device-admission.js';

t.test('token bucket: a burst, then the refill rate', async (t) => {
  let now = 0;
  const b = new TokenBucket(3, 1 / 1000, () => now);
  t.same([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
  now += 999;
  t.notOk(b.take(), 'less than one token refilled');
  now += 1;
  t.ok(b.take());
  now += 60_000;
  t.same([b.take(), b.take(), b.take(), b.take()], [true, true, true, false], 'never more than the capacity');
});

t.test('publish rules: retain and QoS 2 refused, then the rate per connection', async (t) => {
  let now = 0;
  const rules = new ClientLimits({ publishesPerMinute: 60, publishBurst: 2, maxSubscriptions: 2 }, () => now);
  const a = {};
  const b = {};
  t.match(rules.checkPublish(a, { qos: 1, retain: true }), /retained/);
  t.match(rules.checkPublish(a, { qos: 2, retain: false }), /QoS 2/);
  t.equal(rules.checkPublish(a, { qos: 1, retain: false }), null);
  t.equal(rules.checkPublish(a, { qos: 0, retain: false }), null);
  t.match(rules.checkPublish(a, { qos: 1, retain: false }), /publishes/, 'past the burst');
  t.equal(rules.checkPublish(b, { qos: 1, retain: false }), null, 'another connection has its own bucket');
  now += 1000;
  t.equal(rules.checkPublish(a, { qos: 1, retain: false }), null, 'one a second refills');
});

t.test('subscription cap: distinct filters per connection, a repeated filter is free', async (t) => {
  const rules = new ClientLimits({ publishesPerMinute: 60, publishBurst: 2, maxSubscriptions: 2 });
  const c = {};
  t.ok(rules.maySubscribe(c, 'a'));
  t.ok(rules.maySubscribe(c, 'a'));
  t.ok(rules.maySubscribe(c, 'b'));
  t.notOk(rules.maySubscribe(c, 'c'));
  t.ok(rules.maySubscribe(c, 'b'), 'granted ones stay grantable');
  t.ok(rules.maySubscribe({}, 'c'), 'per connection');
});

t.test('claims: a certificate displaces anyone; no client-id connection displaces an open holder', async (t) => {
  const open = new Set<object>();
  const claims = new ClientIdClaims<object>((c) => open.has(c));
  const anon1 = {};
  const anon2 = {};
  const cert = {};
  open.add(anon1).add(anon2).add(cert);
  t.ok(claims.claim('S', anon1, 'client-id'));
  t.notOk(claims.claim('S', anon2, 'client-id'), 'anonymous does not displace anonymous');
  t.ok(claims.claim('S', cert, 'certificate'), 'a certificate displaces');
  t.equal(claims.holderKind('S'), 'certificate');
  t.notOk(claims.claim('S', anon1, 'client-id'), 'nor does anonymous displace a certificate');
  claims.release('S', anon1);
  t.equal(claims.holderKind('S'), 'certificate', 'releasing a displaced claim keeps the holder');
  open.delete(cert);
  t.equal(claims.holderKind('S'), null, 'a closed holder holds nothing');
  t.ok(claims.claim('S', anon2, 'client-id'), 'so the id is free again (admission decides the rest)');
  claims.release('S', anon2);
  t.equal(claims.holderKind('S'), null);
});

t.test('binding cache: a bound serial is refused without asking again; a failed binding is not remembered', async (t) => {
  const calls: string[] = [];
  let fail = false;
  const inner: DeviceAdmission = {
    clientIdStanding: async (s) => (calls.push(`standing ${s}`), 'admit'),
    bindCertificate: async (s) => {
      calls.push(`bind ${s}`);
      if (fail) throw new Error('database down');
    },
  };
  const a = withBindingCache(inner, 2);
  t.equal(await a.clientIdStanding('A'), 'admit');
  await a.bindCertificate('A');
  await a.bindCertificate('A');
  t.equal(await a.clientIdStanding('A'), 'bound');
  fail = true;
  await t.rejects(a.bindCertificate('B'));
  t.equal(await a.clientIdStanding('B'), 'admit');
  fail = false;
  await a.bindCertificate('B');
  await a.bindCertificate('C');
  t.equal(await a.clientIdStanding('A'), 'admit', 'the oldest is forgotten past the cap (the database still has it)');
  t.same(calls, ['standing A', 'bind A', 'bind B', 'standing B', 'bind B', 'bind C', 'standing A']);
});
