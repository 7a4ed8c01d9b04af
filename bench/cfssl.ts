/**
 * cfssl 1.2 (Debian's golang-cfssl) as bench:issue's baseline, doing what Keyline's station API
 * does for one unit: a certificate for a CSR over HTTPS with client certificates, every
 * certificate recorded in a SQLite certificate database in WAL mode before the answer.
 *
 * `cfssl serve` options (cfssl serve -h): -ca/-ca-key sign, -config gives the signing profile,
 * -db-config {"driver":"sqlite3","data_source":…} records every signed certificate in the
 * `certificates` table of cfssl's certdb (the schema of certdb/sqlite/migrations, created here:
 * cfssl does not create it), -tls-cert/-tls-key serve HTTPS, -mutual-tls-ca requires client
 * certificates from that CA. The data source's _journal_mode, _synchronous and _busy_timeout are
 * go-sqlite3's connection options; NORMAL matches Keyline's default (sqlite-store.ts).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createECDH, createPrivateKey, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { bitString, oid, seq, tlv } from '../common/der/writer.js';
import { freePort, onBenchExit, waitListening } from './lib.js';

/** Where cfssl is, or why it is not there and how to get it. */
export type CfsslAvailability = { ok: true; version: string } | { ok: false; why: string };

const INSTALL = 'apt-get install golang-cfssl (Debian/Ubuntu; as root, or with sudo)';

const cfsslVersion = (): string | undefined => {
  const r = spawnSync('cfssl', ['version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? (/Version:\s*(\S+)/.exec(r.stdout)?.[1] ?? 'unknown') : undefined;
};

/**
 * Finds cfssl; when it is missing and this process is root on a system with apt-get, installs
 * Debian's golang-cfssl (at most 5 minutes), otherwise says how to.
 */
export function ensureCfssl(log: (s: string) => void): CfsslAvailability {
  let version = cfsslVersion();
  if (version) return { ok: true, version };
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) {
    return { ok: false, why: `cfssl is not installed; install it with: ${INSTALL}` };
  }
  log('cfssl is not installed: apt-get install -y golang-cfssl ...');
  const apt = (args: string[]) => spawnSync('apt-get', args, { stdio: 'ignore', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  // A stale package list is the usual reason an install fails: refresh it and try once more.
  if (!apt(['install', '-y', 'golang-cfssl']) && apt(['update'])) apt(['install', '-y', 'golang-cfssl']);
  version = cfsslVersion();
  return version ? { ok: true, version } : { ok: false, why: `apt-get could not install golang-cfssl; install it with: ${INSTALL}` };
}

// cfssl 1.2's certdb schema for SQLite (certdb/sqlite/migrations/001_CreateCertificates.sql).
const CERTDB_SCHEMA = `
CREATE TABLE certificates (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  ca_label                 blob,
  status                   blob NOT NULL,
  reason                   int,
  expiry                   timestamp,
  revoked_at               timestamp,
  pem                      blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier)
);
CREATE TABLE ocsp_responses (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  body                     blob NOT NULL,
  expiry                   timestamp,
  PRIMARY KEY(serial_number, authority_key_identifier)
);`;

/** What a cfssl server needs: a folder, its TLS identity, and the CA bundle client certificates must chain to. */
export interface CfsslOptions {
  dir: string;
  tlsChainPath: string;
  tlsKeyPath: string;
  clientCaPath: string;
}

/** A running `cfssl serve`. */
export interface CfsslServer {
  port: number;
  child: ChildProcess;
  /** Certificates recorded in its certdb so far. */
  recorded(): number;
}

/** Creates a software P-256 CA, the signing profile and the certdb, and starts `cfssl serve` with TLS and client certificates. */
export async function startCfssl(o: CfsslOptions): Promise<CfsslServer> {
  const file = (name: string) => join(o.dir, name);
  execFileSync('openssl', ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', file('cfssl-ca-key.pem')]);
  execFileSync('openssl', ['req', '-x509', '-new', '-key', file('cfssl-ca-key.pem'), '-subj', '/O=Bench/CN=cfssl bench issuing CA', '-days', '30', '-out', file('cfssl-ca.pem')]);
  // The device profile's essentials: client auth, a year (Keyline's template carries more extensions).
  writeFileSync(file('cfssl-config.json'), JSON.stringify({ signing: { default: { usages: ['digital signature', 'client auth'], expiry: '8760h' } } }));
  const dbPath = file('cfssl-certs.db');
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.exec(CERTDB_SCHEMA);
  db.close();
  writeFileSync(file('cfssl-db.json'), JSON.stringify({ driver: 'sqlite3', data_source: `file:${dbPath}?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000` }));
  const port = await freePort();
  const child = spawn('cfssl', [
    'serve', '-address', '127.0.0.1', '-port', String(port),
    '-ca', file('cfssl-ca.pem'), '-ca-key', file('cfssl-ca-key.pem'), '-config', file('cfssl-config.json'), '-db-config', file('cfssl-db.json'),
    '-tls-cert', o.tlsChainPath, '-tls-key', o.tlsKeyPath, '-mutual-tls-ca', o.clientCaPath,
    // Warnings and errors only, as the Keyline server runs in this bench (KEYLINE_LOG_LEVEL=warn).
    '-loglevel', '2',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  onBenchExit(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`cfssl serve exited ${code}: ${err}`))));
  exited.catch(() => undefined);
  await Promise.race([waitListening(port, 20_000), exited]);
  const counter = new Database(dbPath, { readonly: true });
  onBenchExit(() => counter.close());
  const count = counter.prepare('SELECT count(*) FROM certificates').pluck();
  return { port, child, recorded: () => count.get() as number };
}

const SPKI_P256 = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const SEC1_HEAD = Buffer.from('30770201010420', 'hex');
const SEC1_MID = Buffer.from('a00a06082a8648ce3d030107a144034200', 'hex');

/** A PKCS#10 request (PEM) for CN=`cn` with a fresh P-256 key, signed with that key (RFC 2986). */
export function makeCsr(cn: string): string {
  const ecdh = createECDH('prime256v1');
  const pub = ecdh.generateKeys();
  const d = ecdh.getPrivateKey();
  const key = createPrivateKey({ key: Buffer.concat([SEC1_HEAD, Buffer.alloc(32 - d.length), d, SEC1_MID, pub]), format: 'der', type: 'sec1' });
  const subject = seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));
  const info = seq(tlv(0x02, Buffer.of(0)), subject, Buffer.concat([SPKI_P256, pub]), tlv(0xa0));
  const der = seq(info, seq(oid('1.2.840.10045.4.3.2')), bitString(sign('sha256', info, key)));
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}
