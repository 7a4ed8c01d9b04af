/**
 * Starts the real server (HTTPS, SoftHSM, SQLite) from a dev PKI in-process on a free port, and
 * builds station clients with any identity, for integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { startServer, type RunningServer } from '../../server/main.js';
import { StationApiClient } from '../../station/api-client.js';
import { Pkcs11KeyStore } from '../../server/hsm/pkcs11-key-store.js';
import { createClientCert } from '../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../server/ca/software-key.js';
import { toCert } from '../../server/ca/chain.js';
import { toPem } from '../../common/pem.js';
import type { TestPki } from './pki.js';
import type { Role } from '../../common/roles.js';

/** Starts the server on a free port; closed at teardown. */
export async function startTestServer(t: Test, pki: TestPki, env: Record<string, string> = {}): Promise<RunningServer> {
  const server = await startServer({ configFile: pki.configPath, env: { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: process.env.KEYLINE_TEST_LOG ?? 'silent', ...env } });
  t.teardown(() => server.close());
  return server;
}

/** A client using the dev station identity, or the given PEM identity. */
export function clientFor(t: Test, pki: TestPki, url: string, identity?: { cert: string; key: string }): StationApiClient {
  const c = new StationApiClient({
    baseUrl: url,
    cert: identity?.cert ?? readFileSync(pki.stationCertPath, 'utf8'),
    key: identity?.key ?? readFileSync(pki.stationKeyPath, 'utf8'),
    ca: readFileSync(pki.rootCertPath, 'utf8'),
  });
  t.teardown(() => c.close());
  return c;
}

/** A client as the dev operator (creates and changes work orders). */
export function operatorFor(t: Test, pki: TestPki, url: string): StationApiClient {
  return clientFor(t, pki, url, { cert: readFileSync(pki.operatorCertPath, 'utf8'), key: readFileSync(pki.operatorKeyPath, 'utf8') });
}

/** A client as the dev security officer. */
export function officerFor(t: Test, pki: TestPki, url: string): StationApiClient {
  return clientFor(t, pki, url, { cert: readFileSync(pki.officerCertPath, 'utf8'), key: readFileSync(pki.officerKeyPath, 'utf8') });
}

/** Issues another client identity from the issuing CA in the line token (e.g. expired, or another role), or from `issuer` (a rotated-in CA). */
export async function issueStationIdentity(pki: TestPki, opts: { id: string; role?: Role; now?: Date; years?: number; issuer?: { keyRef: string; der: Uint8Array } }): Promise<{ cert: string; key: string; serialHex: string }> {
  const pin = readFileSync(pki.linePinPath, 'utf8').trim();
  const ks = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: pki.lineTokenLabel, pin, sessions: 1 });
  try {
    const signer = await ks.getSigner(opts.issuer?.keyRef ?? pki.issuingKeyRef);
    const key = generateSoftwareKey();
    const cert = await createClientCert({
      issuer: { signer, cert: toCert(opts.issuer?.der ?? pki.issuingDer) }, stationId: opts.id, org: 'Keyline Dev', spki: key.spki,
      ...(opts.role ? { role: opts.role } : {}), ...(opts.now ? { now: opts.now } : {}), ...(opts.years ? { years: opts.years } : {}),
    });
    return { cert: toPem(new Uint8Array(cert.rawData)), key: key.privateKeyPem, serialHex: cert.serialNumber.toLowerCase() };
  } finally {
    await ks.close();
  }
}

/** The keyline CLI entry, for tests that run it as a child process. */
export const KEYLINE_BIN = join(import.meta.dirname, '..', '..', 'bin', 'keyline.js');

/**
 * Starts `keyline server` as a child process on free ports (a process that can be SIGKILLed);
 * resolves with it and its API URL once it prints its `api` line, rejects if it exits first.
 */
export function spawnServer(pki: TestPki, env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEYLINE_BIN, 'server', '--config', pki.configPath], {
      env: { ...process.env, ...env, KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/^api (\S+)$/m);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => reject(new Error(`server exited ${code ?? signal}: ${err}`)));
  });
}
