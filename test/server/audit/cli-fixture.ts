/**
 * Fixtures for the CLI tests: a config file pointing at a fresh SQLite store (its HSM PIN is an
 * unset environment variable, proving the commands never need it), and stdout capture.
 */
import { writeFileSync } from 'node:fs';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';

/** Writes keyline.json in `dir` for the store `dir/keyline.db`; returns both paths. */
export function writeConfig(dir: string): { config: string; db: string } {
  const db = `${dir}/keyline.db`;
  const config = `${dir}/keyline.json`;
  writeFileSync(config, JSON.stringify({
    hsm: { tokenLabel: 'line', pin: { env: 'KEYLINE_TEST_PIN_NEVER_SET' }, issuingKey: 'pkcs11:token=line;object=issuing' },
    ca: { crlUrl: 'http://127.0.0.1/crl', ocspUrl: 'http://127.0.0.1/ocsp' },
    store: { url: 'sqlite:keyline.db' },
  }));
  return { config, db };
}

/** Opens the fixture's store. */
export const openFixtureStore = (db: string) => new SqliteStore(db);

/** Runs fn with process.stdout and stderr captured; returns what it wrote and its result. */
export async function capture<T>(fn: () => Promise<T>): Promise<{ out: string; err: string; result: T }> {
  const chunks = { out: '', err: '' };
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((s: string | Uint8Array) => ((chunks.out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((chunks.err += String(s)), true)) as typeof process.stderr.write;
  try {
    const result = await fn();
    return { ...chunks, result };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}
