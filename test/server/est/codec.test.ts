/**
 * The EST codec (issue 17) on its own: base64 bodies in and out, the serial a CSR subject names,
 * subject comparison, the est config section's rules, and password hashes.
 */
import t from 'tap';
import { decodeBase64Body, encodeBase64Body } from '../../../server/est/base64-body.js';
import { estConfigSchema } from '../../../server/est/est-config.js';
import { readEstCsr, sameName, serialOfSubject } from '../../../server/est/est-csr.js';
import { hashPassword, parsePasswordHash } from '../../../server/est/password-hash.js';
import { buildCsr } from '../../helpers/est.js';

const SN = '2.5.4.5';
const CN = '2.5.4.3';

t.test('base64 bodies: any line breaks in, 64-character LF lines out, anything else INVALID_CSR', async (t) => {
  const der = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
  const b64 = der.toString('base64');
  for (const body of [b64, b64.replace(/.{10}/g, '$&\n'), b64.replace(/.{76}/g, '$&\r\n') + '\r\n', ` ${b64}\t\n`]) {
    t.same(Buffer.from(decodeBase64Body(Buffer.from(body), 'x')), der);
  }
  for (const bad of ['', '\n', 'AB!D', 'ABC', 'AB=C', '-----BEGIN X-----']) t.throws(() => decodeBase64Body(Buffer.from(bad), 'x'), { code: 'INVALID_CSR' }, JSON.stringify(bad));
  const out = encodeBase64Body(der).toString('latin1');
  t.ok(out.endsWith('\n') && out.split('\n').slice(0, -1).every((l) => l.length <= 64));
  t.equal(encodeBase64Body(der, 0).toString('latin1'), b64, 'one line when asked');
});

t.test('the serial: serialNumber, else CN, 18 hex digits, upper-cased; both must agree', async (t) => {
  t.equal(serialOfSubject([{ type: SN, value: '0123456789abcdef01' }]), '0123456789ABCDEF01');
  t.equal(serialOfSubject([{ type: '2.5.4.10', value: 'Acme' }, { type: CN, value: '0123456789ABCDEF01' }]), '0123456789ABCDEF01');
  t.equal(serialOfSubject([{ type: CN, value: 'gateway-7' }, { type: SN, value: '0123456789ABCDEF01' }]), '0123456789ABCDEF01', 'a CN that is no serial is a name');
  for (const subject of [[], [{ type: CN, value: 'x' }], [{ type: SN, value: '0123456789ABCDEF0' }],
    [{ type: SN, value: '0123456789ABCDEF01' }, { type: CN, value: '0123456789ABCDEF02' }], [{ type: CN, value: '0123456789ABCDEF01' }, { type: CN, value: '0123456789ABCDEF01' }]]) {
    t.throws(() => serialOfSubject(subject), { code: 'INVALID_SERIAL' }, JSON.stringify(subject));
  }
  t.ok(sameName([{ type: CN, value: 'a' }], [{ type: CN, value: 'a' }]));
  t.notOk(sameName([{ type: CN, value: 'a' }], [{ type: CN, value: 'a' }, { type: SN, value: 'b' }]));
});

t.test('readEstCsr: subject, SPKI and challengePassword of a request; trailing bytes refused', async (t) => {
  const { der } = buildCsr('0123456789ABCDEF01', { challengePassword: 'binding' });
  const csr = readEstCsr(der);
  t.same(csr.subject, [{ type: CN, value: '0123456789ABCDEF01' }]);
  t.equal(csr.challengePassword, 'binding');
  t.equal(csr.spki.length, 91);
  t.match(csr.pem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  t.throws(() => readEstCsr(Buffer.concat([der, Buffer.from([0])])), { code: 'INVALID_CSR' });
  t.throws(() => readEstCsr(der.subarray(0, 40)), { code: 'INVALID_CSR' });
});

t.test('the est section: labels are not operation names, the default label exists, line lengths are multiples of 4', async (t) => {
  const label = { workOrder: 'WO-1' };
  t.ok(estConfigSchema.safeParse({ defaultLabel: 'a', labels: { a: label } }).success);
  t.notOk(estConfigSchema.safeParse({ defaultLabel: 'b', labels: { a: label } }).success);
  t.notOk(estConfigSchema.safeParse({ labels: { cacerts: label } }).success);
  t.notOk(estConfigSchema.safeParse({ labels: { a: { ...label, base64LineLength: 70 } } }).success);
  t.match(estConfigSchema.parse({ labels: { a: label } }).labels.a, { manualApproval: false, allowKeyReuse: false, revokeSuperseded: true, base64LineLength: 64, auth: { stations: true, birthCas: [] } });
});

t.test('password hashes: scrypt PHC strings, verified in constant time; a bad one is a config error naming the field only', async (t) => {
  const phc = await hashPassword('s3cret', { ln: 10, r: 8, p: 1 });
  t.match(phc, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  const h = parsePasswordHash(phc, 'est.labels.a.auth.basic.passwordHash');
  t.equal(await h.verify('s3cret'), true);
  t.equal(await h.verify('s3cret '), false);
  t.throws(() => parsePasswordHash('s3cret', 'field.x'), { code: 'CONFIG_INVALID', message: /^field\.x: not a scrypt hash/ });
  t.throws(() => parsePasswordHash(phc.replace('ln=10', 'ln=4'), 'f'), { code: 'CONFIG_INVALID' }, 'a cost too low to be a hash');
});
