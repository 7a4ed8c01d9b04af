/**
 * Issue 17: who may enroll over EST, beyond Basic credentials and stations (est.test.ts): a birth
 * certificate from another CA the label names (made here with openssl, as a manufacturer's device
 * CA), bound to the serial it certifies; and proof-of-possession linking (RFC 7030 §3.5): under
 * TLS 1.2 the CSR's challengePassword must be the connection's tls-unique value, which only a
 * client on that very connection knows, so these requests go over one raw TLS socket each.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import t from 'tap';
import { chipSerialHex } from '../helpers/device-keys.js';
import { buildCsr, configureEst, csrBody, curl, newKey, openssl } from '../helpers/est.js';
import { makeDevPki } from '../helpers/pki.js';
import { operatorFor, startTestServer } from '../helpers/server.js';

const pki = await makeDevPki(t);
const dir = join(pki.outDir, '..', 'auth');
mkdirSync(dir, { recursive: true });

// A manufacturer's CA and one birth certificate (CN = the chip serial), made by openssl.
const birthSerial = chipSerialHex();
await newKey(dir, 'mfr');
await openssl(dir, ['req', '-x509', '-new', '-key', 'mfr.key.pem', '-subj', '/O=Chip Maker/CN=Chip Maker Device CA', '-days', '30', '-out', 'mfr-ca.pem']);
await newKey(dir, 'birth');
await openssl(dir, ['req', '-new', '-key', 'birth.key.pem', '-subj', `/O=Chip Maker/CN=${birthSerial}`, '-out', 'birth.csr.pem']);
await openssl(dir, ['x509', '-req', '-in', 'birth.csr.pem', '-CA', 'mfr-ca.pem', '-CAkey', 'mfr.key.pem', '-CAcreateserial', '-days', '30', '-out', 'birth.pem']);
writeFileSync(join(pki.outDir, 'mfr-ca.pem'), readFileSync(join(dir, 'mfr-ca.pem')));

configureEst(pki, {
  labels: {
    factory: { workOrder: 'WO-AUTH', auth: { stations: false, birthCas: ['mfr-ca.pem'] } },
    other: { workOrder: 'WO-AUTH' },
    pop: { workOrder: 'WO-AUTH', requirePopLinking: true },
  },
});
const server = await startTestServer(t, pki);
await operatorFor(t, pki, server.apiUrl).createWorkOrder({ id: 'WO-AUTH', product: 'Sensor', quota: 20 });
writeFileSync(join(dir, 'root.pem'), readFileSync(pki.rootCertPath));
const base = `${server.apiUrl}/.well-known/est`;
/** The answer in a test message: its status, or its reason when it is a refusal. */
const said = (a: { status: number; body: string }) => (a.status < 300 ? `HTTP ${a.status}` : a.body.slice(0, 300));
const code = (body: string) => /^([A-Z_]+):/.exec(body)?.[1];

t.test('a birth certificate of a CA the label names enrolls the serial it certifies, nothing else', async (t) => {
  const birth = ['--cacert', 'root.pem', '--cert', 'birth.pem', '--key', 'birth.key.pem', '-H', 'Content-Type: application/pkcs10'];
  const ok = await curl(dir, [...birth, '--data-binary', `@${await csrBody(dir, await newKey(dir, 'd1'), `/serialNumber=${birthSerial}`, 'd1')}`, `${base}/factory/simpleenroll`]);
  t.equal(ok.status, 200, said(ok));
  const other = await curl(dir, [...birth, '--data-binary', `@${await csrBody(dir, await newKey(dir, 'd2'), `/serialNumber=${chipSerialHex()}`, 'd2')}`, `${base}/factory/simpleenroll`]);
  t.same([other.status, code(other.body)], [400, 'SUBJECT_MISMATCH'], 'another serial than the birth certificate names');
  const elsewhere = await curl(dir, [...birth, '--data-binary', '@d2.csr.b64', `${base}/other/simpleenroll`]);
  t.same([elsewhere.status, code(elsewhere.body)], [401, 'CERTIFICATE_UNTRUSTED'], 'a label that does not name the CA');
  t.match(elsewhere.header('WWW-Authenticate'), /^Basic realm="keyline-est"$/);
});

/** One EST request over a fresh TLS connection; `csr` is built once the handshake gave tls-unique. */
function overOneConnection(path: string, maxVersion: 'TLSv1.2' | 'TLSv1.3', csr: (tlsUnique: Buffer | undefined) => Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({
      host: '127.0.0.1', port: Number(new URL(server.apiUrl).port), servername: 'localhost', maxVersion,
      ca: readFileSync(pki.rootCertPath), cert: readFileSync(pki.stationCertPath), key: readFileSync(pki.stationKeyPath),
    }, () => {
      // RFC 5929 §3.1: the first Finished of the handshake: the client's own in a full handshake.
      const body = Buffer.from(csr(maxVersion === 'TLSv1.2' ? socket.getFinished() : undefined).toString('base64'));
      socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/pkcs10\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    // The server closes the connection after its answer (Connection: close).
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

t.test('tls-unique in challengePassword (TLS 1.2): the connection\'s value passes, another is refused, a required one missing is refused', async (t) => {
  const path = '/.well-known/est/pop/simpleenroll';
  const linked = await overOneConnection(path, 'TLSv1.2', (u) => buildCsr(chipSerialHex(), { challengePassword: u!.toString('base64') }).der);
  t.equal(linked.status, 200, said(linked));
  const wrong = await overOneConnection(path, 'TLSv1.2', () => buildCsr(chipSerialHex(), { challengePassword: Buffer.alloc(12, 7).toString('base64') }).der);
  t.same([wrong.status, code(wrong.body)], [400, 'POP_LINK_INVALID']);
  const missing = await overOneConnection(path, 'TLSv1.2', () => buildCsr(chipSerialHex()).der);
  t.same([missing.status, code(missing.body)], [400, 'POP_LINK_INVALID']);
  // A label without the requirement still checks a challengePassword it is given.
  const elsewhere = await overOneConnection('/.well-known/est/other/simpleenroll', 'TLSv1.2', () => buildCsr(chipSerialHex(), { challengePassword: 'not-the-binding' }).der);
  t.same([elsewhere.status, code(elsewhere.body)], [400, 'POP_LINK_INVALID']);
  // TLS 1.3 has no tls-unique (RFC 8446 §C.5): nothing to bind, the request goes through.
  const tls13 = await overOneConnection(path, 'TLSv1.3', () => buildCsr(chipSerialHex()).der);
  t.equal(tls13.status, 200, said(tls13));
});
