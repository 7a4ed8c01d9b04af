/**
 * Issue 17: EST (RFC 7030 / RFC 8951) from outside, driven with curl and openssl alone against
 * the real server (HTTPS with mTLS, SoftHSM, the provisioning service), on SQLite and on
 * PostgreSQL: cacerts and csrattrs without credentials, the 401 Basic challenge, wrong and right
 * credentials, enroll, a retry, re-enroll with the issued certificate (the old one superseded and
 * revoked), bad base64, a CSR signed by another key, the quota, a duplicate key, manual approval
 * with `keyline est approve`, stations and other roles, 501s, and the wire details common clients
 * depend on. Answers are decoded with `openssl pkcs7 -print_certs`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { hashPassword } from '../../server/est/password-hash.js';
import { chipSerialHex } from '../helpers/device-keys.js';
import { configureEst, csrBody, curl, newKey, openssl, printCerts, type CurlAnswer } from '../helpers/est.js';
import { makeDevPki, type TestPki } from '../helpers/pki.js';
import { freshPgDatabase, pgSkipReason } from '../helpers/postgres.js';
import { KEYLINE_BIN, operatorFor, startTestServer } from '../helpers/server.js';

const execFileP = promisify(execFile);
/** The answer in a test message: its status, or its reason when it is a refusal. */
const said = (a: { status: number; body: string }) => (a.status < 300 ? `HTTP ${a.status}` : a.body.slice(0, 300));
const PASSWORD = 'line1-bootstrap-secret';

/** Writes the EST section used by every test: four labels over four work orders. */
async function setUp(t: Test): Promise<TestPki> {
  const pki = await makeDevPki(t);
  // A low scrypt cost keeps the test fast; production hashes come from `keyline est hash-password`.
  writeFileSync(join(pki.outDir, 'est-line1.hash'), await hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 }));
  configureEst(pki, {
    defaultLabel: 'line1',
    retryAfterSeconds: 30,
    realm: 'keyline-est',
    labels: {
      line1: { workOrder: 'WO-EST', auth: { basic: { username: 'line1', passwordHash: { file: 'est-line1.hash' } } } },
      small: { workOrder: 'WO-SMALL', auth: { basic: { username: 'line1', passwordHash: { file: 'est-line1.hash' } } } },
      gated: { workOrder: 'WO-GATED', manualApproval: true, auth: { basic: { username: 'line1', passwordHash: { file: 'est-line1.hash' } } } },
      renew: { workOrder: 'WO-EST', allowKeyReuse: true, revokeSuperseded: false, requirePopLinking: true, auth: { stations: false } },
    },
  });
  return pki;
}

/** The whole suite against one store (env: KEYLINE_STORE_URL for PostgreSQL). */
async function estSuite(t: Test, pki: TestPki, env: Record<string, string>): Promise<void> {
  const server = await startTestServer(t, pki, env);
  const base = `${server.apiUrl}/.well-known/est`;
  // Beside the PKI in the test's folder (a second t.testdir() would empty it).
  const dir = join(pki.outDir, '..', 'est');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'root.pem'), readFileSync(pki.rootCertPath));
  const tls = ['--cacert', 'root.pem'];
  const basic = ['-u', `line1:${PASSWORD}`];
  const operator = operatorFor(t, pki, server.apiUrl);
  await operator.createWorkOrder({ id: 'WO-EST', product: 'Gateway', quota: 50 });
  await operator.createWorkOrder({ id: 'WO-SMALL', product: 'Gateway', quota: 1 });
  await operator.createWorkOrder({ id: 'WO-GATED', product: 'Gateway', quota: 5 });
  const enroll = (path: string, body: string, auth: string[] = basic, more: string[] = []) =>
    curl(dir, [...tls, ...auth, ...more, '-H', 'Content-Type: application/pkcs10', '--data-binary', `@${body}`, `${base}${path}`]);
  const refusal = (a: CurlAnswer) => [a.status, /^([A-Z_]+):/.exec(a.body)?.[1]];

  /** What every EST answer must look like on the wire (the list). */
  const wire = (t: Test, a: CurlAnswer, type: string) => {
    t.equal(a.header('Content-Type'), type, `Content-Type: ${type}`);
    t.ok(a.headers.some((l) => l.startsWith('Content-Length: ')), 'Content-Length, in its usual capitalisation');
    t.notOk(a.header('Transfer-Encoding'), 'never chunked');
    t.ok(a.headers.includes('Connection: close'), 'the connection is closed after the answer');
    t.ok(a.body.split('\n').every((l) => l.length <= 76), 'body lines of at most 76 characters');
  };

  t.test('cacerts: certs-only PKCS#7 of the issuing CA and the self-signed root, no credentials needed', async (t) => {
    for (const path of ['/cacerts', '/line1/cacerts']) {
      const a = await curl(dir, [...tls, `${base}${path}`]);
      t.equal(a.status, 200, path);
      wire(t, a, 'application/pkcs7-mime');
      t.equal(a.header('Content-Transfer-Encoding'), 'base64');
      const { text, pems } = await printCerts(dir, a.body, 'cacerts');
      t.equal(pems.length, 2, 'issuing CA and root');
      t.match(text, /subject=.*Issuing/i);
      t.equal(pems[1], readFileSync(pki.rootCertPath, 'utf8'), 'the root as the ceremony wrote it');
    }
    t.same(refusal(await curl(dir, [...tls, `${base}/nope/cacerts`])), [404, 'NOT_FOUND'], 'an unknown label');
  });

  t.test('csrattrs: the profile (P-256, ECDSA-SHA256, serialNumber; challengePassword where PoP linking is required)', async (t) => {
    const a = await curl(dir, [...tls, `${base}/csrattrs`]);
    t.equal(a.status, 200);
    wire(t, a, 'application/csrattrs');
    const asn1 = async (body: string, name: string) => {
      writeFileSync(join(dir, `${name}.b64`), body);
      await openssl(dir, ['base64', '-d', '-in', `${name}.b64`, '-out', `${name}.der`]);
      return openssl(dir, ['asn1parse', '-inform', 'DER', '-in', `${name}.der`]);
    };
    const parsed = await asn1(a.body, 'attrs');
    t.match(parsed, /id-ecPublicKey[\s\S]*prime256v1[\s\S]*serialNumber[\s\S]*ecdsa-with-SHA256/);
    t.notMatch(parsed, /challengePassword/);
    const renew = await curl(dir, [...tls, `${base}/renew/csrattrs`]);
    t.match(await asn1(renew.body, 'attrs2'), /challengePassword/);
  });

  const serial = chipSerialHex();
  const key = await newKey(dir, 'dev1');
  const csr = await csrBody(dir, key, `/serialNumber=${serial}`, 'dev1');
  let certPem = '';

  t.test('simpleenroll: 401 with a Basic challenge first, wrong credentials 401, right ones 200 with the certificate', async (t) => {
    const first = await enroll('/simpleenroll', csr, []);
    t.same(refusal(first), [401, 'UNAUTHENTICATED']);
    t.equal(first.header('WWW-Authenticate'), 'Basic realm="keyline-est"', 'the challenge clients wait for');
    t.equal(first.header('Content-Type'), 'text/plain; charset=utf-8');
    t.same(refusal(await enroll('/simpleenroll', csr, ['-u', 'line1:wrong'])), [401, 'UNAUTHENTICATED']);
    t.same(refusal(await enroll('/simpleenroll', csr, ['-u', `other:${PASSWORD}`])), [401, 'UNAUTHENTICATED']);
    // curl's --anyauth sends nothing first, as common EST clients do, and answers the challenge.
    const a = await enroll('/simpleenroll', csr, ['--anyauth', ...basic]);
    t.equal(a.status, 200, said(a));
    wire(t, a, 'application/pkcs7-mime; smime-type=certs-only');
    t.equal(a.header('Content-Transfer-Encoding'), 'base64');
    const { text, pems } = await printCerts(dir, a.body, 'dev1');
    t.equal(pems.length, 1, 'the issued certificate only');
    t.match(text, new RegExp(`subject=O ?= ?Gateway, CN ?= ?${serial}`));
    certPem = pems[0]!;
    writeFileSync(join(dir, 'dev1.pem'), certPem);
    writeFileSync(join(dir, 'chain.pem'), readFileSync(pki.issuingCertPath, 'utf8'));
    t.match(await openssl(dir, ['verify', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', 'dev1.pem']), /dev1.pem: OK/);
    const unit = await operator.getUnit(serial);
    t.match(unit, { workOrder: 'WO-EST', station: 'est.line1', status: 'issued' });
    // The same request again (a lost answer): the same certificate, nothing counted twice.
    const again = await enroll('/line1/simpleenroll', csr);
    t.equal(again.status, 200);
    t.equal((await printCerts(dir, again.body, 'dev1b')).pems[0], certPem, 'a retry for the same key gets the same certificate');
    t.equal((await operator.getWorkOrder('WO-EST')).issued, 1);
  });

  t.test('a CSR with CN = serial also names the unit; TLS 1.2 is accepted', async (t) => {
    const s = chipSerialHex();
    const body = await csrBody(dir, await newKey(dir, 'cn'), `/O=Anything/CN=${s}`, 'cn');
    const a = await enroll('/simpleenroll', body, basic, ['--tlsv1.2', '--tls-max', '1.2']);
    t.equal(a.status, 200, said(a));
    t.match((await printCerts(dir, a.body, 'cn')).text, new RegExp(`CN ?= ?${s}`));
  });

  t.test('refusals: bad base64, another key\'s signature, no serial, wrong media type', async (t) => {
    writeFileSync(join(dir, 'bad.b64'), 'MIIB!!notbase64\n');
    const bad = await enroll('/simpleenroll', 'bad.b64');
    t.same(refusal(bad), [400, 'INVALID_CSR']);
    t.equal(bad.header('Content-Type'), 'text/plain; charset=utf-8');
    // A request whose key is A's but whose signature B made over the same subject.
    const s = chipSerialHex();
    await csrBody(dir, await newKey(dir, 'ka'), `/serialNumber=${s}`, 'ka');
    await csrBody(dir, await newKey(dir, 'kb'), `/serialNumber=${s}`, 'kb');
    writeFileSync(join(dir, 'forged.der'), spliceSignature(readFileSync(join(dir, 'ka.csr.der')), readFileSync(join(dir, 'kb.csr.der'))));
    await openssl(dir, ['base64', '-in', 'forged.der', '-out', 'forged.b64']);
    t.same(refusal(await enroll('/simpleenroll', 'forged.b64')), [400, 'CSR_SIGNATURE_INVALID']);
    await t.rejects(operator.getUnit(s), { code: 'UNKNOWN_UNIT' }, 'nothing issued');
    t.same(refusal(await enroll('/simpleenroll', await csrBody(dir, 'ka.key.pem', '/CN=not-a-serial', 'noserial'))), [400, 'INVALID_SERIAL']);
    const json = await curl(dir, [...tls, ...basic, '-H', 'Content-Type: application/json', '--data-binary', `@${csr}`, `${base}/simpleenroll`]);
    t.same(refusal(json), [415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  t.test('the station rules hold: quota and duplicate key', async (t) => {
    const k = await newKey(dir, 'q1');
    t.equal((await enroll('/small/simpleenroll', await csrBody(dir, k, `/serialNumber=${chipSerialHex()}`, 'q1'))).status, 200);
    const over = await enroll('/small/simpleenroll', await csrBody(dir, await newKey(dir, 'q2'), `/serialNumber=${chipSerialHex()}`, 'q2'));
    t.same(refusal(over), [403, 'QUOTA_EXCEEDED']);
    t.equal((await operator.getWorkOrder('WO-SMALL')).issued, 1);
    // dev1's key under another serial: one key in two chips.
    const dup = await enroll('/simpleenroll', await csrBody(dir, key, `/serialNumber=${chipSerialHex()}`, 'dup'));
    t.same(refusal(dup), [409, 'DUPLICATE_KEY']);
    // Another key for dev1's serial: the serial has its certificate.
    const again = await enroll('/simpleenroll', await csrBody(dir, await newKey(dir, 'dev1x'), `/serialNumber=${serial}`, 'dev1x'));
    t.same(refusal(again), [409, 'SERIAL_EXISTS']);
  });

  t.test('simplereenroll with the issued certificate: a new key, the same subject; the old certificate superseded and revoked', async (t) => {
    const device = ['--cert', 'dev1.pem', '--key', key];
    const newK = await newKey(dir, 'dev1-2');
    // x509toreq copies the current certificate's subject into a request signed with the new key.
    const reCsr = async (cert: string, k: string, name: string) => {
      await openssl(dir, ['x509', '-x509toreq', '-in', cert, '-signkey', k, '-out', `${name}.csr.pem`]);
      await openssl(dir, ['req', '-in', `${name}.csr.pem`, '-outform', 'DER', '-out', `${name}.csr.der`]);
      await openssl(dir, ['base64', '-in', `${name}.csr.der`, '-out', `${name}.b64`]);
      return `${name}.b64`;
    };
    await reCsr('dev1.pem', newK, 're');
    t.same(refusal(await enroll('/simplereenroll', 're.b64', basic)), [403, 'FORBIDDEN'], 'Basic credentials do not re-enroll');
    await reCsr('dev1.pem', key, 'same');
    t.same(refusal(await enroll('/simplereenroll', 'same.b64', device)), [400, 'KEY_REUSE_NOT_ALLOWED']);
    t.same(refusal(await enroll('/simplereenroll', await csrBody(dir, newK, `/serialNumber=${serial}`, 'other-subject'), device)), [400, 'SUBJECT_MISMATCH']);
    const old = (await operator.getUnit(serial)).certificateSerial;
    const a = await enroll('/simplereenroll', 're.b64', device);
    t.equal(a.status, 200, said(a));
    wire(t, a, 'application/pkcs7-mime; smime-type=certs-only');
    const renewed = (await printCerts(dir, a.body, 're')).pems[0]!;
    writeFileSync(join(dir, 'dev1-2.pem'), renewed);
    t.not(renewed, certPem);
    t.match(await openssl(dir, ['x509', '-in', 'dev1-2.pem', '-noout', '-subject']), new RegExp(serial));
    const [pubNew, pubReq] = await Promise.all([openssl(dir, ['x509', '-in', 'dev1-2.pem', '-noout', '-pubkey']), openssl(dir, ['ec', '-in', newK, '-pubout'])]);
    t.equal(pubNew, pubReq, 'the new certificate holds the new key');
    const unit = await operator.getUnit(serial);
    t.not(unit.certificateSerial, old);
    // A retry with the old certificate and the same new key (the answer was lost): the same certificate.
    const retry = await enroll('/simplereenroll', 're.b64', device);
    t.equal(retry.status, 200, said(retry));
    t.equal((await printCerts(dir, retry.body, 're2')).pems[0], renewed);
    // The old certificate cannot re-enroll another key.
    t.same(refusal(await enroll('/simplereenroll', 'same.b64', device)), [403, 'CERTIFICATE_SUPERSEDED']);
    // The CRL lists the old certificate as superseded (the revocation watcher re-issues it within a second).
    const crlPath = new URL(JSON.parse(readFileSync(pki.configPath, 'utf8')).ca.crlUrl as string).pathname;
    let crl = '';
    for (let i = 0; i < 30 && !crl.includes(old.toUpperCase()); i++) {
      await new Promise((r) => setTimeout(r, 200));
      writeFileSync(join(dir, 'crl.der'), Buffer.from((await curl(dir, [`${server.publicUrl}${crlPath}`])).body, 'latin1'));
      crl = await openssl(dir, ['crl', '-inform', 'DER', '-in', 'crl.der', '-noout', '-text']);
    }
    t.match(crl, new RegExp(`${old.toUpperCase()}[\\s\\S]*?Superseded`), 'the superseded certificate is on the CRL');
    // The new certificate re-enrolls in turn.
    const third = await enroll('/simplereenroll', await csrBody(dir, await newKey(dir, 'dev1-3'), `/O=Gateway/CN=${serial}`, 'dev1-3'), ['--cert', 'dev1-2.pem', '--key', newK]);
    t.equal(third.status, 200, said(third));
  });

  t.test('manual approval: 202 with Retry-After in seconds, keyline est approve, then the retry (a new CSR, same key) is issued', async (t) => {
    const s = chipSerialHex();
    const k = await newKey(dir, 'gated');
    const first = await enroll('/gated/simpleenroll', await csrBody(dir, k, `/serialNumber=${s}`, 'gated1'));
    t.equal(first.status, 202, said(first));
    t.equal(first.header('Retry-After'), '30');
    t.ok(first.headers.includes('Connection: close'));
    const second = await enroll('/gated/simpleenroll', await csrBody(dir, k, `/serialNumber=${s}`, 'gated2'));
    t.equal(second.status, 202, 'still waiting: matched by its key');
    const cfg = ['--config', pki.configPath];
    const pending = JSON.parse((await execFileP(process.execPath, [KEYLINE_BIN, 'est', 'pending', '--json', ...cfg], { env: { ...process.env, ...env } })).stdout);
    t.match(pending.requests, [{ label: 'gated', serial: s, status: 'pending', requestedBy: 'est.gated' }]);
    const approved = JSON.parse((await execFileP(process.execPath, [KEYLINE_BIN, 'est', 'approve', '--label', 'gated', '--serial', s, '--json', ...cfg], { env: { ...process.env, ...env } })).stdout);
    t.match(approved.requests, [{ serial: s, status: 'approved' }]);
    const issued = await enroll('/gated/simpleenroll', await csrBody(dir, k, `/serialNumber=${s}`, 'gated3'));
    t.equal(issued.status, 200, said(issued));
    t.match((await printCerts(dir, issued.body, 'gated')).text, new RegExp(s));
    // A rejected request is refused on its next retry.
    const r = chipSerialHex();
    const rk = await newKey(dir, 'rej');
    t.equal((await enroll('/gated/simpleenroll', await csrBody(dir, rk, `/serialNumber=${r}`, 'rej1'))).status, 202);
    await execFileP(process.execPath, [KEYLINE_BIN, 'est', 'reject', '--serial', r, ...cfg], { env: { ...process.env, ...env } });
    t.same(refusal(await enroll('/gated/simpleenroll', await csrBody(dir, rk, `/serialNumber=${r}`, 'rej2'))), [403, 'ENROLLMENT_REJECTED']);
  });

  t.test('stations enroll devices; other roles never issue; serverkeygen and fullcmc are 501', async (t) => {
    const station = ['--cert', pki.stationCertPath, '--key', pki.stationKeyPath];
    const s = chipSerialHex();
    const a = await enroll('/simpleenroll', await csrBody(dir, await newKey(dir, 'st'), `/serialNumber=${s}`, 'st'), station);
    t.equal(a.status, 200, said(a));
    t.match(await operator.getUnit(s), { station: 'station-01' });
    const asOperator = await enroll('/simpleenroll', await csrBody(dir, await newKey(dir, 'op'), `/serialNumber=${chipSerialHex()}`, 'op'), ['--cert', pki.operatorCertPath, '--key', pki.operatorKeyPath]);
    t.same(refusal(asOperator), [403, 'FORBIDDEN']);
    t.same(refusal(await enroll('/renew/simpleenroll', 'st.csr.b64', station)), [403, 'FORBIDDEN'], 'a label that admits no stations');
    for (const op of ['serverkeygen', 'fullcmc']) {
      t.same(refusal(await enroll(`/${op}`, 'st.csr.b64')), [501, 'NOT_SUPPORTED'], op);
      t.same(refusal(await enroll(`/${op}`, 'st.csr.b64', [])), [401, 'UNAUTHENTICATED'], `${op} authenticates first`);
    }
  });
}

/** A CSR with `a`'s CertificationRequestInfo (its key) and `b`'s signature algorithm and signature. */
function spliceSignature(a: Buffer, b: Buffer): Buffer {
  const body = (d: Buffer) => {
    // Outer SEQUENCE header (long form: these requests are over 127 bytes), then the info SEQUENCE.
    const outer = d[1]! & 0x80 ? 2 + (d[1]! & 0x7f) : 2;
    const infoLen = d[outer + 1]! & 0x80 ? d.readUIntBE(outer + 2, d[outer + 1]! & 0x7f) + 2 + (d[outer + 1]! & 0x7f) : d[outer + 1]! + 2;
    return { info: d.subarray(outer, outer + infoLen), rest: d.subarray(outer + infoLen) };
  };
  const content = Buffer.concat([body(a).info, body(b).rest]);
  const len = content.length < 0x80 ? Buffer.of(content.length) : content.length < 0x100 ? Buffer.of(0x81, content.length) : Buffer.of(0x82, content.length >> 8, content.length & 0xff);
  return Buffer.concat([Buffer.of(0x30), len, content]);
}

t.test('EST on SQLite', async (t) => {
  const pki = await setUp(t);
  await estSuite(t, pki, {});
});

t.test('EST on PostgreSQL', { skip: pgSkipReason() }, async (t) => {
  const pki = await setUp(t);
  await estSuite(t, pki, { KEYLINE_STORE_URL: await freshPgDatabase() });
});
