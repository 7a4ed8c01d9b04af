/**
 * Issue 11, hole 2, from outside: the real `keyline server` in a child process, flooded over its
 * public listener with 20,000 hostile OCSP POSTs on a few keep-alive connections: 7 KB hash
 * parameters on a good serial (each a new cache key before the fix), nonces, and random serials.
 * Its resident memory (VmRSS from /proc) after the flood must stay within 50 MB of what it was
 * after a warm-up; both numbers are printed.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { toCert } from '../../server/ca/chain.js';
import { NULL, integerFromHex, octetString, oid, seq, tlv } from '../../common/der/writer.js';
import { OID_OCSP_NONCE } from '../../server/ca/ocsp-request.js';
import { spkiKeyBits } from '../../server/ca/ocsp-responder.js';
import { randomSerialHex } from '../../server/ca/profiles.js';
import { openStore } from '../../server/store/open-store.js';
import { loadConfigWithoutSecrets } from '../../server/config.js';
import { makeDevPki } from '../helpers/pki.js';
import { buildUnit, buildWorkOrder } from '../server/store/build.js';
import { certificateIssuedBy } from '../helpers/issued-by.js';

const FLOOD = 20_000;
const WARMUP = 2_000;
const CONNECTIONS = 4;
const DEPTH = 4;
const LIMIT_MB = 50;
const KEYLINE_BIN = fileURLToPath(new URL('../../bin/keyline.js', import.meta.url));

const pki = await makeDevPki(t);
const config = loadConfigWithoutSecrets(pki.configPath);
const goodSerial = randomSerialHex();
const goodCertDer = await certificateIssuedBy(pki.issuingDer, goodSerial);
const store = await openStore(config.store.url);
await store.transaction(async (tx) => {
  await tx.workOrders.create(buildWorkOrder({ id: 'WO-1' }));
  await tx.units.insert(buildUnit({ certificateSerial: goodSerial, certificateDer: goodCertDer }));
});
await store.close();

/** `keyline server` in a child process; resolves with it and its public (CRL/OCSP) URL. */
function spawnKeyline(): Promise<{ child: ChildProcess; publicUrl: URL }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEYLINE_BIN, 'server', '--config', pki.configPath], {
      env: { ...process.env, KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_ENROLL_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^public (\S+)$/m.exec(out);
      if (m) resolve({ child, publicUrl: new URL(m[1]!) });
    });
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => reject(new Error(`server exited ${code ?? signal}: ${err}`)));
  });
}
const { child, publicUrl } = await spawnKeyline();
t.teardown(() => new Promise<void>((resolve) => {
  if (child.exitCode !== null) return resolve();
  child.once('exit', () => resolve());
  child.kill('SIGTERM');
}));

function rssMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return kb / 1024;
}

// CertIDs for this issuer.
const issuing = toCert(pki.issuingDer);
const issuerName = Buffer.from(issuing.subjectName.toArrayBuffer());
const issuerKey = spkiKeyBits(new Uint8Array(issuing.publicKey.rawData));
const OIDS = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2', sha512: '2.16.840.1.101.3.4.2.3' } as const;
const ALGS = Object.keys(OIDS) as (keyof typeof OIDS)[];
function certId(serialHex: string, alg: keyof typeof OIDS, params: Buffer | null): Buffer {
  const h = (b: Uint8Array) => octetString(createHash(alg).update(b).digest());
  return seq(seq(oid(OIDS[alg]), ...(params ? [params] : [])), h(issuerName), h(issuerKey), integerFromHex(serialHex));
}
function request(id: Buffer, nonce?: Buffer): Buffer {
  return seq(seq(seq(seq(id)), ...(nonce ? [tlv(0xa2, seq(seq(oid(OID_OCSP_NONCE), octetString(octetString(nonce)))))] : [])));
}
const pad7k = randomBytes(7 * 1024);

type Kind = 'params' | 'nonce' | 'random';
/** The i-th hostile request: 70% unique 7 KB parameters on the good serial, 15% nonces (8 hash forms), 15% random serials. */
function hostile(i: number): { kind: Kind; body: Buffer } {
  const r = i % 20;
  const alg = ALGS[i % 4]!;
  if (r < 14) {
    // A unique 7 KB parameters field per request (the attack of issue 11).
    const params = octetString(Buffer.concat([Buffer.from(`${i}:`), pad7k.subarray(0, 7 * 1024 - 8)]));
    return { kind: 'params', body: request(certId(goodSerial, alg, params)) };
  }
  if (r < 17) return { kind: 'nonce', body: request(certId(goodSerial, alg, i % 8 < 4 ? NULL : null), randomBytes(32)) };
  return { kind: 'random', body: request(certId(randomSerialHex(), alg, NULL), randomBytes(16)) };
}
const expected: Record<Kind, (der: Buffer) => boolean> = {
  params: (d) => d.equals(Buffer.from('30030a0101', 'hex')), // malformedRequest
  random: (d) => d.equals(Buffer.from('30030a0106', 'hex')), // unauthorized
  nonce: (d) => d.length > 300 && d.subarray(0, 12).includes(Buffer.from('0a0100', 'hex')), // successful (pre-signed)
};

/** Sends requests [from, to) over CONNECTIONS keep-alive sockets, DEPTH pipelined each; counts answers as expected or not. */
async function flood(from: number, to: number): Promise<{ ok: number; bad: number; byKind: Record<Kind, number> }> {
  let next = from;
  const tally = { ok: 0, bad: 0, byKind: { params: 0, nonce: 0, random: 0 } as Record<Kind, number> };
  const one = () => new Promise<void>((resolve, reject) => {
    const sock = connect(Number(publicUrl.port), publicUrl.hostname);
    const inflight: Kind[] = [];
    let buf: Buffer = Buffer.alloc(0);
    const send = () => {
      if (next >= to) return;
      const { kind, body } = hostile(next++);
      inflight.push(kind);
      sock.write(Buffer.concat([Buffer.from(`POST /ocsp HTTP/1.1\r\nHost: ${publicUrl.host}\r\nContent-Type: application/ocsp-request\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
    };
    sock.on('connect', () => { for (let i = 0; i < DEPTH; i++) send(); });
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        const h = buf.indexOf('\r\n\r\n');
        if (h < 0) break;
        const head = buf.subarray(0, h).toString('latin1');
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < h + 4 + len) break;
        const kind = inflight.shift()!;
        const body = buf.subarray(h + 4, h + 4 + len);
        if (head.startsWith('HTTP/1.1 200') && expected[kind](body)) tally.ok++;
        else tally.bad++;
        tally.byKind[kind]++;
        buf = buf.subarray(h + 4 + len);
        send();
      }
      if (inflight.length === 0) {
        sock.end();
        resolve();
      }
    });
    sock.on('error', reject);
  });
  await Promise.all(Array.from({ length: CONNECTIONS }, one));
  return tally;
}

t.test(`issue 11 (hole 2): ${FLOOD} hostile OCSP requests keep the server's RSS within ${LIMIT_MB} MB of its start`, async (t) => {
  const warm = await flood(0, WARMUP);
  t.equal(warm.bad, 0, 'warm-up answered as expected');
  await new Promise((r) => setTimeout(r, 500));
  const start = rssMb(child.pid!);
  const t0 = performance.now();
  const res = await flood(WARMUP, WARMUP + FLOOD);
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  const end = rssMb(child.pid!);
  t.comment(`server VmRSS: ${start.toFixed(1)} MB after warm-up -> ${end.toFixed(1)} MB after ${FLOOD} hostile requests (+${(end - start).toFixed(1)} MB) in ${seconds.toFixed(1)} s; ${JSON.stringify(res.byKind)}`);
  t.equal(res.ok + res.bad, FLOOD, 'every request answered');
  t.equal(res.bad, 0, '7 KB parameters -> malformedRequest, nonces -> the pre-signed answer, random serials -> unauthorized');
  t.ok(end - start < LIMIT_MB, `RSS growth ${(end - start).toFixed(1)} MB < ${LIMIT_MB} MB`);
});
