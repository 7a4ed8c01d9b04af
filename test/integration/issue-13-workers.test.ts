/**
 * Issue 13, from outside: the real `keyline server --workers 2` with every port 0 (API, public,
 * MQTT). Both workers serve the one API port and the one public port the primary prints (each
 * worker's own state shows through: its metrics counters, its own signed OCSP answer), the
 * printed MQTT URL is the broker on every connection (worker 2's API socket used to be worker
 * 1's MQTT socket), SIGTERM ends the whole process tree within 5 s (it used to wait forever for
 * workers that had closed), and the death of a worker or of the primary leaves no process behind.
 */
import t, { type Test } from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { integerFromHex, octetString, oid, seq } from '../../common/der/writer.js';
import { toCert } from '../../server/ca/chain.js';
import { spkiKeyBits } from '../../server/ca/ocsp-responder.js';
import { randomSerialHex } from '../../server/ca/profiles.js';
import { loadConfigWithoutSecrets } from '../../server/config.js';
import { openStore } from '../../server/store/open-store.js';
import { makeDevPki } from '../helpers/pki.js';
import { alive } from '../helpers/processes.js';
import { buildUnit, buildWorkOrder } from '../server/store/build.js';
import { certificateIssuedBy } from '../helpers/issued-by.js';

const KEYLINE_BIN = fileURLToPath(new URL('../../bin/keyline.js', import.meta.url));
const STOP_WITHIN_MS = 5000;

const pki = await makeDevPki(t);
const goodSerial = randomSerialHex();
const goodCertDer = await certificateIssuedBy(pki.issuingDer, goodSerial);
const store = await openStore(loadConfigWithoutSecrets(pki.configPath).store.url);
await store.transaction(async (tx) => {
  await tx.workOrders.create(buildWorkOrder({ id: 'WO-1' }));
  await tx.units.insert(buildUnit({ certificateSerial: goodSerial, certificateDer: goodCertDer }));
});
await store.close();

interface Cluster { child: ChildProcess; api: URL; public: URL; mqtt: URL; stderr: () => string; exited: Promise<{ code: number | null; signal: string | null }> }

/** `keyline server --workers 2`, every port 0; resolves once the primary prints its listeners. */
function startCluster(t: Test): Promise<Cluster> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEYLINE_BIN, 'server', '--config', pki.configPath, '--workers', '2'], {
      env: { ...process.env, KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_ENROLL_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    // Whatever a test did, nothing of this tree outlives it.
    t.teardown(async () => {
      const pids = [child.pid!, ...workerPids(child.pid!)];
      for (const pid of pids) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    });
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^api (\S+)\npublic (\S+)\nmqtt (\S+)\n/m.exec(out);
      if (m) resolve({ child, api: new URL(m[1]!), public: new URL(m[2]!), mqtt: new URL(m[3]!), stderr: () => err, exited });
    });
    void exited.then(({ code, signal }) => reject(new Error(`server exited ${code ?? signal} before it was ready: ${err}`)));
  });
}

/** The pids whose parent is `pid` (the workers of a primary). */
function workerPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map(Number).filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}


/** Resolves with how long the tree (primary and `pids`) took to disappear, or rejects after `ms`. */
async function goneWithin(primary: Cluster, pids: number[], ms: number, since = performance.now()): Promise<number> {
  const deadline = since + ms;
  for (;;) {
    if (primary.child.exitCode !== null || primary.child.signalCode !== null) {
      if (!pids.some(alive)) return performance.now() - since;
    }
    if (performance.now() > deadline) throw new Error(`still running after ${ms} ms: ${[primary.child.pid!, ...pids].filter(alive).join(', ')}`);
    await sleep(25);
  }
}

/** GET over a new TLS connection each time (agent: false), as the operator; the body as text. */
function apiGet(api: URL, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, api), {
      agent: false, ca: readFileSync(pki.rootCertPath), cert: readFileSync(pki.operatorCertPath), key: readFileSync(pki.operatorKeyPath),
    }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One OCSP POST (SHA-1 CertID of `serialHex`, no nonce) over a new connection; the DER answer. */
function ocspPost(pub: URL, serialHex: string): Promise<Buffer> {
  const issuing = toCert(pki.issuingDer);
  const h = (b: Uint8Array) => octetString(createHash('sha1').update(b).digest());
  const certId = seq(seq(oid('1.3.14.3.2.26')), h(new Uint8Array(issuing.subjectName.toArrayBuffer())), h(spkiKeyBits(new Uint8Array(issuing.publicKey.rawData))), integerFromHex(serialHex));
  const body = seq(seq(seq(seq(certId))));
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL('/ocsp', pub), { method: 'POST', agent: false, headers: { 'content-type': 'application/ocsp-request', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve(Buffer.concat(chunks)));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The first bytes the MQTT listener answers to a minimal MQTT 3.1.1 CONNECT over TLS. */
function mqttConnack(mqtt: URL): Promise<Buffer> {
  const id = Buffer.from('issue-13-probe');
  const vh = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, id.length]);
  const connect = Buffer.concat([Buffer.from([0x10, vh.length + id.length]), vh, id]);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: mqtt.hostname, port: Number(mqtt.port), ca: [readFileSync(pki.rootCertPath), readFileSync(pki.issuingCertPath)], servername: mqtt.hostname }, () => s.write(connect));
    s.setTimeout(5000, () => s.destroy(new Error('no answer to CONNECT within 5 s')));
    s.once('data', (d: Buffer) => {
      resolve(d);
      s.destroy();
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed without an answer')));
  });
}

t.test('every worker serves the printed API, public and MQTT listeners; SIGTERM ends the tree within 5 s', async (t) => {
  const c = await startCluster(t);
  const workers = workerPids(c.child.pid!);
  t.equal(workers.length, 2, 'two workers');
  t.not(c.api.port, c.mqtt.port, 'API and MQTT ports differ');
  t.not(c.public.port, c.mqtt.port, 'public and MQTT ports differ');

  // Each worker counts its own requests: with both behind the port, some count is seen twice
  // (one process alone would show 0, 1, 2, ... each once).
  const counts: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await apiGet(c.api, '/metrics');
    t.equal(r.status, 200);
    counts.push(Number(/^keyline_http_request_duration_seconds_count\{route="GET \/metrics"\} (\d+)$/m.exec(r.body)?.[1] ?? 0));
  }
  t.ok(new Set(counts).size < counts.length, `API requests land on both workers (counts seen: ${counts.join(', ')})`);

  // Each worker signs its own answer for the serial once and caches it: two workers, two distinct answers.
  const answers = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const der = await ocspPost(c.public, goodSerial);
    t.ok(der.length > 300 && der.subarray(0, 12).includes(Buffer.from('0a0100', 'hex')), 'a signed successful answer');
    answers.add(der.toString('hex'));
  }
  t.equal(answers.size, 2, 'OCSP requests land on both workers');

  // Before the fix, every other connection to this port reached worker 2's HTTPS server.
  for (let i = 0; i < 6; i++) {
    const ack = await mqttConnack(c.mqtt);
    t.equal(ack[0], 0x20, `connection ${i + 1}: a CONNACK from the broker`);
  }

  const since = performance.now();
  c.child.kill('SIGTERM');
  const ms = await goneWithin(c, workers, STOP_WITHIN_MS, since);
  t.pass(`primary and both workers gone ${Math.round(ms)} ms after SIGTERM`);
  t.same(await c.exited, { code: 0, signal: null }, 'clean exit');
});

t.test('SIGKILL of a worker stops the other and exits 1 (for a supervisor to restart)', async (t) => {
  const c = await startCluster(t);
  const workers = workerPids(c.child.pid!);
  t.equal(workers.length, 2);
  const since = performance.now();
  process.kill(workers[1]!, 'SIGKILL');
  await goneWithin(c, workers, STOP_WITHIN_MS, since);
  t.same(await c.exited, { code: 1, signal: null });
  t.match(c.stderr(), new RegExp(`worker ${workers[1]} exited \\(SIGKILL\\); stopping the other workers`));
});

t.test('SIGKILL of the primary leaves no worker behind', async (t) => {
  const c = await startCluster(t);
  const workers = workerPids(c.child.pid!);
  t.equal(workers.length, 2);
  const since = performance.now();
  c.child.kill('SIGKILL');
  await goneWithin(c, workers, STOP_WITHIN_MS, since);
  t.pass('both workers ended with their IPC channel');
});
