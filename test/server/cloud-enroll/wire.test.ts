/**
 * The two cloud protocols' wire shapes (issue 16), as the official clients send and read them
 * (../shared/reference/cloud-provisioning.md §3, §4, §9): DPS usernames, request and reply topics,
 * AWS topics and request bodies, and the tables that turn a Keyline refusal into each cloud's
 * error shape.
 */
import t from 'tap';
import { KeylineError } from '../../../common/errors.js';
import { dpsResponseTopic, parseDpsTopic, parseDpsUsername, parseRegisterBody } from '../../../server/cloud-enroll/dps/dps-wire.js';
import { replyForError } from '../../../server/cloud-enroll/dps/dps-replies.js';
import { csrOf, decodeFleetBody, isFleetReplyFilter, parseFleetTopic, registerThingOf } from '../../../server/cloud-enroll/aws-fleet/fleet-wire.js';
import { fleetRejection } from '../../../server/cloud-enroll/aws-fleet/fleet-errors.js';
import { deviceConfigurationOf, thingNameOf } from '../../../server/cloud-enroll/aws-fleet/fleet-templates.js';

const now = new Date('2026-12-03T10:00:00Z');

t.test('DPS CONNECT username: the Node client\'s, the C client\'s, and what is not one', async (t) => {
  t.same(parseDpsUsername('0ne00000001/registrations/dev-0001/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1'),
    { idScope: '0ne00000001', registrationId: 'dev-0001', apiVersion: '2019-03-31', params: { ClientVersion: 'azure-iot-provisioning-device%2F1.9.1' } });
  t.match(parseDpsUsername('0ne00000001/registrations/0123ABCDEF01234501/api-version=2019-03-31'), { registrationId: '0123ABCDEF01234501', params: {} });
  for (const u of [undefined, '', '?SDK=IoTDeviceSDK/JS', '0ne/registrations/dev', '0ne/registrations/dev/ClientVersion=x', '0ne/registrations/dev/api-version=1&api-version=2', 'a/b/registrations/dev/api-version=1']) {
    t.equal(parseDpsUsername(u), null, String(u));
  }
});

t.test('DPS topics: register and poll parsed, $rid kept byte for byte, replies with the /? separator', async (t) => {
  t.same(parseDpsTopic('$dps/registrations/PUT/iotdps-register/?$rid=0b6c1a4e-3a8e-4d0f-9c1e-2f7d0d6c9a11'), { kind: 'register', rid: '0b6c1a4e-3a8e-4d0f-9c1e-2f7d0d6c9a11' });
  t.same(parseDpsTopic('$dps/registrations/PUT/iotdps-register/?$rid=1'), { kind: 'register', rid: '1' }, "the C client's $rid");
  t.same(parseDpsTopic('$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2&operationId=4.x.y'), { kind: 'poll', rid: '2', operationId: '4.x.y' });
  for (const topic of ['$dps/registrations/PUT/iotdps-register/', '$dps/registrations/PUT/iotdps-register/?$rid=a/b', '$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2',
    '$dps/registrations/res/200/?$rid=1', '$dps/registrations/PUT/iotdps-register/?$rid=1&$rid=2', 'devices/x']) t.equal(parseDpsTopic(topic), null, topic);
  t.equal(dpsResponseTopic(202, 'r1', 3), '$dps/registrations/res/202/?$rid=r1&retry-after=3');
  t.equal(dpsResponseTopic(200, 'r1'), '$dps/registrations/res/200/?$rid=r1');
  t.same(parseRegisterBody(Buffer.from('{"registrationId":"d","payload":{"a":1},"clientCertificateCsr":"x"}')), { registrationId: 'd', payload: { a: 1 } }, 'preview members ignored');
  t.match(parseRegisterBody(Buffer.from(' ')), { invalid: /not JSON/ }, "a poll's one-space body is no register body");
  t.match(parseRegisterBody(Buffer.from('{}')), { invalid: /registrationId/ });
});

t.test('DPS refusals: error statuses with errorCode = status × 1000 + n, or a registration that ends', async (t) => {
  t.match(replyForError(new KeylineError('UNKNOWN_DEVICE', 'x'), 'op', 'd', now), { status: 401, body: { errorCode: 401002, trackingId: String, message: /^UNKNOWN_DEVICE/, timestampUtc: now.toISOString() } });
  t.match(replyForError(new KeylineError('UNIT_NOT_CONFIRMED', 'x'), 'op', 'd', now), { status: 404, body: { errorCode: 404201 } });
  t.match(replyForError(new KeylineError('RATE_LIMITED', 'x', { detail: { retryAfterSeconds: 7 } }), null, 'd', now), { status: 429, retryAfterSeconds: 7, body: { errorCode: 429001 } });
  t.match(replyForError(new KeylineError('DEVICE_REVOKED', 'x'), 'op', 'd', now), { status: 200, body: { operationId: 'op', status: 'disabled', registrationState: { registrationId: 'd', status: 'disabled', errorCode: 401003 } } });
  t.match(replyForError(new KeylineError('QUOTA_EXCEEDED', 'x'), 'op', 'd', now), { status: 200, body: { status: 'failed', registrationState: { status: 'failed' } } }, 'any other refusal: failed');
  t.match(replyForError(new Error('db down: secret detail'), 'op', 'd', now), { status: 500, retryAfterSeconds: 5, body: { message: 'internal error; retry later' } }, 'an internal error says nothing and is retried');
});

t.test('AWS topics, reply filters and request bodies', async (t) => {
  t.same(parseFleetTopic('$aws/certificates/create-from-csr/json'), { api: 'create-from-csr', format: 'json' });
  t.same(parseFleetTopic('$aws/certificates/create/cbor'), { api: 'create', format: 'cbor' });
  t.same(parseFleetTopic('$aws/provisioning-templates/keyline-dev/provision/json'), { api: 'provision', format: 'json', templateName: 'keyline-dev' });
  for (const topic of ['$aws/certificates/create-from-csr/json/accepted', '$aws/certificates/create-from-csr/xml', '$aws/things/x/shadow/get', '$aws/provisioning-templates/a/b/provision/json']) t.equal(parseFleetTopic(topic), null, topic);
  for (const f of ['$aws/certificates/create-from-csr/json/accepted', '$aws/provisioning-templates/keyline-dev/provision/json/+', '$aws/certificates/#']) t.ok(isFleetReplyFilter(f), f);
  for (const f of ['#', '$aws/things/x/shadow/#', '+/certificates/#', '$aws/certificates/$x']) t.notOk(isFleetReplyFilter(f), f);
  t.same(decodeFleetBody('json', Buffer.alloc(0)), { body: {} }, 'an empty CreateKeysAndCertificate body');
  t.match(decodeFleetBody('json', Buffer.from('[1]')), { invalid: /not a map/ });
  t.match(decodeFleetBody('cbor', Buffer.from('ff', 'hex')), { invalid: /not CBOR/ });
  t.match(csrOf({}), { invalid: /certificateSigningRequest/ });
  t.same(registerThingOf({ certificateOwnershipToken: 'tok', parameters: { a: 'b' }, templateName: 'ignored' }), { token: 'tok', parameters: { a: 'b' } });
  t.same(registerThingOf({ certificateOwnershipToken: 'tok' }), { token: 'tok', parameters: {} });
  t.same(registerThingOf({ parameters: {} }), { invalid: 'Certificate ownership token cannot be empty.', tokenInvalid: true });
  t.match(registerThingOf({ certificateOwnershipToken: 'tok', parameters: { n: 1 } }), { invalid: /parameters\.n/ });
});

t.test('AWS rejections by code; internal errors say nothing', async (t) => {
  t.same(fleetRejection(new KeylineError('OWNERSHIP_TOKEN_INVALID', 'used')), { statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken', errorMessage: 'OWNERSHIP_TOKEN_INVALID: used' });
  t.match(fleetRejection(new KeylineError('PROVISIONING_DENIED', 'x')), { statusCode: 403, errorCode: 'ACCESS_DENIED' });
  t.match(fleetRejection(new KeylineError('UNIT_NOT_CONFIRMED', 'x')), { statusCode: 403, errorCode: 'ACCESS_DENIED' });
  t.match(fleetRejection(new KeylineError('TEMPLATE_UNKNOWN', 'x')), { statusCode: 404, errorCode: 'ResourceNotFound' });
  t.match(fleetRejection(new KeylineError('RATE_LIMITED', 'x')), { statusCode: 429, errorCode: 'Throttling' });
  t.same(fleetRejection(new Error('secret')), { statusCode: 500, errorCode: 'InternalError', errorMessage: 'internal error; retry later' });
});

t.test('templates: thing names and the flat deviceConfiguration', async (t) => {
  const unit = { serial: '0123ABCDEF01234501', workOrder: 'WO-7', product: 'Sensor', group: 'eu' };
  t.equal(thingNameOf('{product}-{serial}', unit, {}), 'Sensor-0123ABCDEF01234501');
  t.equal(thingNameOf('{parameters.Location}/{group}/{workOrder}', unit, { Location: 'dock' }), 'dock/eu/WO-7');
  t.equal(thingNameOf('{parameters.missing}x', unit, {}), 'x');
  const conf = deviceConfigurationOf({ type: 'enrolled', serial: unit.serial, group: 'eu', config: { mqtt: { host: 'h', port: 8883 }, tags: ['a'] }, configSignature: 'sig', configSignerCertificate: 'cert', reenrolled: true });
  t.same(conf, {
    'mqtt.host': 'h', 'mqtt.port': '8883', tags: '["a"]', 'keyline.group': 'eu', 'keyline.config': '{"mqtt":{"host":"h","port":8883},"tags":["a"]}',
    'keyline.configSignature': 'sig', 'keyline.configSignerCertificate': 'cert', 'keyline.reenrolled': 'true',
  });
});
