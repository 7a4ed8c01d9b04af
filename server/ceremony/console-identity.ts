/**
 * The development ceremony's browser identity (issue 18): the operator's certificate, key and
 * chain as a PKCS#12 file a person imports into their browser to open the console at once, and
 * the line that says how. openssl writes it (PBES2/AES-256 and a SHA-256 MAC, which current NSS,
 * Chromium and Firefox import); the password is a development one, printed with the file, since
 * the key beside it is unencrypted anyway.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The development PKCS#12 password (printed with the file; never a production secret). */
export const DEV_P12_PASSWORD = 'keyline-dev';

/** What the file is made of. */
export interface ConsoleIdentityFiles {
  certPath: string;
  keyPath: string;
  /** Issuing CA and root, included so the browser presents the whole chain. */
  chainPaths: string[];
  out: string;
  name: string;
}

/** Writes the PKCS#12 file; returns the lines to print. */
export async function writeConsoleIdentity(f: ConsoleIdentityFiles, consoleUrl: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-p12-'));
  try {
    const chain = join(dir, 'chain.pem');
    writeFileSync(chain, f.chainPaths.map((p) => readFileSync(p, 'utf8')).join(''));
    await promisify(execFile)('openssl', ['pkcs12', '-export', '-in', f.certPath, '-inkey', f.keyPath, '-certfile', chain, '-name', f.name,
      '-passout', 'env:KEYLINE_P12_PASSWORD', '-out', f.out], { env: { ...process.env, KEYLINE_P12_PASSWORD: DEV_P12_PASSWORD } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const root = f.chainPaths[f.chainPaths.length - 1]!;
  return [
    `console identity: ${f.out} (operator, password ${DEV_P12_PASSWORD}); open ${consoleUrl} after importing it and trusting the root:`,
    `  Chromium/Chrome (Linux): pk12util -d sql:$HOME/.pki/nssdb -i ${f.out} -W ${DEV_P12_PASSWORD} && certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n keyline-dev-root -i ${root}`,
    `  Firefox: Settings > Privacy & Security > View Certificates > Your Certificates > Import ${f.out}; Authorities > Import ${root}`,
  ];
}
