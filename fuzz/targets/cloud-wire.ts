/**
 * Target `cloud-wire`: the parsers in front of the cloud device-provisioning endpoints (issue 16),
 * each fed what any MQTT client may send. The CBOR decoder (AWS Fleet Provisioning's `/cbor`
 * topics) answers a value or a CborError on any bytes and gives back what encodeCbor wrote; a
 * request body decodes to a map or a reason, never a throw; topic and username parsers answer
 * null or a request, and a request topic built from a parsed one parses to the same request.
 */
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { CborError, decodeCbor, encodeCbor, type CborValue } from '../../server/cloud-enroll/aws-fleet/cbor.js';
import { decodeFleetBody, fleetRequestTopic, parseFleetTopic, registerThingOf } from '../../server/cloud-enroll/aws-fleet/fleet-wire.js';
import { parseDpsTopic, parseDpsUsername, parseRegisterBody } from '../../server/cloud-enroll/dps/dps-wire.js';
import { ensure, type FuzzTarget } from '../harness.js';

type Input =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'value'; value: CborValue; cut: number }
  | { kind: 'topic'; text: string };

const scalar = fc.oneof(fc.constant(null), fc.boolean(), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.string({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 }));
const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'certificateOwnershipToken', 'parameters', 'certificateSigningRequest'));
const value = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(key, tie('v'), { maxKeys: 4 })),
})).v;
const topic = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom(
    '$aws/certificates/create-from-csr/json', '$aws/certificates/create/cbor', '$aws/provisioning-templates/keyline-dev/provision/json',
    '$aws/provisioning-templates//provision/json', '$aws/provisioning-templates/a/b/provision/cbor', '$AWS/certificates/create/json',
    '$dps/registrations/PUT/iotdps-register/?$rid=1', '$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2&operationId=x',
    '$dps/registrations/PUT/iotdps-register/?$rid=1&$rid=2', '$dps/registrations/PUT/iotdps-register/?$rid=',
    '0ne0000DEV1/registrations/dev/api-version=2019-03-31&ClientVersion=x', 'scope/registrations/id/api-version=1&api-version=2',
  ),
  fc.tuple(fc.constantFrom('$aws/provisioning-templates/', '$dps/registrations/PUT/iotdps-register/?', 'x/registrations/'), fc.string({ maxLength: 60 })).map(([a, b]) => a + b),
);

/** The target. */
export const cloudWireTarget: FuzzTarget<Input> = {
  name: 'cloud-wire',
  summary: 'CBOR decoder, Fleet Provisioning and DPS topic/username/body parsers: a value or a typed refusal on any input, round trips exact',
  heapBoundBytes: 16 * 1024 * 1024,
  async setup() {
    return {
      sync: true,
      arbitrary: fc.oneof(
        { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): Input => ({ kind: 'bytes', bytes })) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('value' as const), value, cut: fc.nat(64) }) },
        { weight: 2, arbitrary: topic.map((text): Input => ({ kind: 'topic', text })) },
      ),
      check(input) {
        if (input.kind === 'topic') {
          const fleet = parseFleetTopic(input.text);
          if (fleet) ensure(isDeepStrictEqual(parseFleetTopic(fleetRequestTopic(fleet)), fleet), () => `fleet topic does not round-trip: ${input.text}`);
          const dps = parseDpsTopic(input.text);
          const user = parseDpsUsername(input.text);
          if (user) ensure(!('api-version' in user.params), () => `api-version left in params: ${input.text}`);
          return fleet ? `fleet ${fleet.api}` : dps ? `dps ${dps.kind}` : user ? 'dps username' : 'not a request';
        }
        const bytes = input.kind === 'bytes' ? input.bytes : encodeCbor(input.value);
        if (input.kind === 'value') {
          ensure(isDeepStrictEqual(normalise(decodeCbor(bytes)), normalise(input.value)), () => `CBOR round trip differs for ${Buffer.from(bytes).toString('hex')}`);
          // Every strict prefix of one data item is truncated, never another value.
          const cut = input.cut % bytes.length;
          try {
            decodeCbor(bytes.subarray(0, cut));
            ensure(false, () => `a ${cut}-byte prefix of ${Buffer.from(bytes).toString('hex')} decoded`);
          } catch (err) {
            ensure(err instanceof CborError, () => `prefix: ${String(err)}`);
          }
        }
        let outcome = 'cbor ok';
        try {
          decodeCbor(bytes);
        } catch (err) {
          ensure(err instanceof CborError, () => `decodeCbor threw ${String(err)} on ${Buffer.from(bytes).toString('hex')}`);
          outcome = 'CborError';
        }
        for (const format of ['cbor', 'json'] as const) {
          const body = decodeFleetBody(format, Buffer.from(bytes));
          if ('body' in body) {
            ensure(typeof body.body === 'object' && body.body !== null && !Array.isArray(body.body), () => 'a body that is not a map');
            registerThingOf(body.body);
          }
        }
        parseRegisterBody(Buffer.from(bytes));
        return outcome;
      },
      close() {},
    };
  },
};

// Buffers and Uint8Arrays compare as bytes; maps as plain objects.
function normalise(v: CborValue): unknown {
  if (v instanceof Uint8Array) return ['bytes', Buffer.from(v).toString('hex')];
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}
