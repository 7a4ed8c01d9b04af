/**
 * The 'aws-iot' config section: defaults, and the refusals that would otherwise surface only as
 * parked jobs (AWS's attribute limit, a JITP template given twice, a malformed endpoint).
 */
import t from 'tap';
import { awsIotRegistryConfig } from '../../../server/registry/aws-iot-config.js';

const base = { type: 'aws-iot', region: 'eu-west-1' };
const issues = (v: unknown): string[] => {
  const r = awsIotRegistryConfig.safeParse(v);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

t.test('defaults: multi-account, 10/s, REVOKED, empty prefix, 10 s timeout, default credential chain', async (t) => {
  t.same(awsIotRegistryConfig.parse(base), { ...base, mode: 'multi-account', thingNamePrefix: '', maxPerSecond: 10, requestTimeoutMs: 10_000, revokeAs: 'REVOKED' });
});

t.test('refusals name the field', async (t) => {
  t.match(issues({ ...base, endpoint: 'not a url' }), [/^endpoint:/]);
  t.match(issues({ ...base, mode: 'bulk' }), [/^mode:/]);
  t.match(issues({ ...base, revokeAs: 'DELETED' }), [/^revokeAs:/]);
  t.match(issues({ ...base, thingNamePrefix: 'a b' }), [/^thingNamePrefix:/]);
  t.match(issues({ ...base, credentials: { accessKeyId: 'AKIA...', secretAccessKey: { env: 'S' } } }), [/^credentials.accessKeyId:/], 'keys only by reference');
  t.match(issues({ ...base, region: 'eu-west-1', extra: 1 }), [/Unrecognized key/]);
  // A thing without a type holds 3 attributes and keyline sets 2 (serial, workOrder).
  t.match(issues({ ...base, attributes: { a: '1', b: '2' } }), [/^attributes: .*at most 1 more/]);
  t.same(issues({ ...base, attributes: { a: '1', b: '2' }, thingTypeName: 'sensor' }), []);
  t.same(issues({ ...base, attributes: { a: '1', serial: 'x' } }), [], 'a reserved name does not count: keyline overrides it');
  t.match(issues({ ...base, mode: 'jitp', jitp: { roleArn: 'arn:aws:iam::123456789012:role/r', templateBody: '{}', templateName: 'x' } }), [/^jitp.templateName: give templateBody or templateName, not both/]);
  t.match(issues({ ...base, mode: 'jitp', jitp: { roleArn: 'arn:aws:iam::123456789012:role/r', templateName: 'has space' } }), [/^jitp.templateName:/]);
});
