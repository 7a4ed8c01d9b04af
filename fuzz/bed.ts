/**
 * The server side the service-level targets run against, built once per target without tap: a
 * soft-key root and issuing CA, the DER-template device issuer, a real SqliteStore (on tmpfs when
 * there is one: the targets write thousands of rows) and the provisioning service. Also the
 * deterministic key and serial helpers the arbitraries use, so a replayed input means the same key.
 */
import { createECDH, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createIssuingCa, createRootCa, type Issuer } from '../server/ca/profiles.js';
import { createTemplateDeviceIssuer } from '../server/ca/template-device-issuer.js';
import type { DeviceIssuer } from '../server/ca/device-issuer.js';
import { createProvisioning, type Provisioning } from '../server/services/provisioning.js';
import { SqliteStore } from '../server/store/sqlite/sqlite-store.js';
import { createSoftSigner, type SoftSigner } from '../test/helpers/soft-signer.js';

/** A provisioning service over SQLite with its CA. */
export interface ProvisioningBed {
  dir: string;
  store: SqliteStore;
  /** A second, read-only connection to the same file, for invariant queries. */
  db: Database.Database;
  prov: Provisioning;
  issuer: DeviceIssuer;
  issuingSigner: SoftSigner;
  /** The issuing CA as profiles.ts takes it (to issue a config-signer certificate). */
  issuing: Issuer;
  rootDer: Uint8Array;
  issuingDer: Uint8Array;
  close(): Promise<void>;
}

/** A folder for a target's files: tmpfs when available. */
export function fuzzDir(name: string): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `keyline-fuzz-${name}-`));
}

/** Builds the bed (confirm waits at most 2 s for the self registry). */
export async function provisioningBed(name: string): Promise<ProvisioningBed> {
  const dir = fuzzDir(name);
  const rootSigner = createSoftSigner(undefined, 'soft:root');
  const issuingSigner = createSoftSigner(undefined, 'soft:issuing');
  const root = await createRootCa({ signer: rootSigner, org: 'Keyline Fuzz' });
  const issuing = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: await issuingSigner.publicKeySpki(), org: 'Keyline Fuzz' });
  const issuingDer = new Uint8Array(issuing.rawData);
  const issuer = createTemplateDeviceIssuer({ signer: issuingSigner, issuingCaDer: issuingDer, crlUrl: 'http://127.0.0.1/crl', ocspUrl: 'http://127.0.0.1/ocsp', validityYears: 0 });
  const file = join(dir, 'keyline.db');
  const store = new SqliteStore(file);
  const db = new Database(file, { readonly: true });
  const prov = createProvisioning({ store, issuer, confirmWaitMs: 2000 });
  return {
    dir, store, db, prov, issuer, issuingSigner, issuing: { signer: issuingSigner, cert: issuing }, rootDer: new Uint8Array(root.rawData), issuingDer,
    async close() {
      db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The raw X‖Y public key of the P-256 private key derived from `seed` (deterministic: the same
 * input replays to the same key). About 40 µs.
 */
export function p256FromSeed(seed: number): Uint8Array {
  const ecdh = createECDH('prime256v1');
  // Any 32 bytes below the group order are a key; a hash of the seed is, with overwhelming odds.
  ecdh.setPrivateKey(seedScalar(seed));
  return new Uint8Array(ecdh.getPublicKey().subarray(1));
}

/** The private key behind p256FromSeed(seed), as a node:crypto KeyObject (to sign as the device). */
export function p256PrivateFromSeed(seed: number): KeyObject {
  const d = seedScalar(seed);
  const xy = p256FromSeed(seed);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: b64(d), x: b64(xy.subarray(0, 32)), y: b64(xy.subarray(32)) }, format: 'jwk' });
}

function seedScalar(seed: number): Buffer {
  return createHash('sha256').update(`keyline-fuzz-${seed}`).digest();
}

/** A chip serial from a small number: 0123 ‖ n (12 hex digits) ‖ EE, as ATECC608 serials look. */
export function serialOf(n: number): string {
  return `0123${n.toString(16).toUpperCase().padStart(12, '0')}EE`;
}
