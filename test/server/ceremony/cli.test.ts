import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openStore } from '../../../server/store/open-store.js';

const BIN = join(import.meta.dirname, '../../../bin/keyline.ts');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string; argv: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, argv: child.spawnargs }));
  });
}

t.test('keyline ceremony init --dev: progress, audit log, PKI_EXISTS on the second run', async (t) => {
  const out = join(t.testdir(), 'certs-dev');
  const first = await run(['ceremony', 'init', '--dev', '--out', out]);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /ceremony: token 'keyline-root' initialised[\s\S]*ceremony: done: 17 audit records/);
  const pins = ['line.pin', 'root.pin', 'line.so.pin', 'root.so.pin'].map((f) => readFileSync(join(out, 'tokens', f), 'utf8').trim());
  t.ok(pins.every((p) => !first.stdout.includes(p) && !first.stderr.includes(p) && !first.argv.join(' ').includes(p)), 'PINs never printed nor on the command line');

  const store = await openStore(`sqlite:${join(out, 'keyline.db')}`);
  const records = await store.transaction((tx) => tx.audit.list({ afterSeq: 0, limit: 100 }), { readOnly: true });
  await store.close();
  t.same(records.map((r) => r.action).slice(0, 3), ['ceremony.token.init', 'ceremony.token.init', 'ceremony.root.keygen']);
  t.equal(records.length, 17);

  const second = await run(['ceremony', 'init', '--dev', '--out', out]);
  t.equal(second.code, 1);
  t.match(second.stderr, /PKI_EXISTS: a PKI already exists in .*--force/);

  const help = await run(['ceremony', 'init', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: keyline ceremony init --dev/);
  const noDev = await run(['ceremony', 'init', '--out', out]);
  t.equal(noDev.code, 2);

  // Production flow through the CLI: CSR on the line, root signs it; the PIN travels by file only.
  const csr = await run(['ceremony', 'csr', '--config', join(out, 'keyline.json'), '--org', 'Keyline Dev', '--out', join(out, 'issuing.csr')]);
  t.equal(csr.code, 0, csr.stderr);
  const signed = await run(['ceremony', 'sign-csr', '--csr', join(out, 'issuing.csr'), '--root-cert', join(out, 'root-ca.pem'), '--root-key', 'pkcs11:token=keyline-root;object=root-ca',
    '--pin-file', join(out, 'tokens/root.pin'), '--softhsm-conf', join(out, 'tokens/softhsm2.conf'), '--out', join(out, 'issuing-2.pem')]);
  t.equal(signed.code, 0, signed.stderr);
  t.ok(pins.every((p) => !signed.argv.join(' ').includes(p) && !signed.stdout.includes(p)));
  t.match(execFileSync('openssl', ['verify', '-CAfile', join(out, 'root-ca.pem'), join(out, 'issuing-2.pem')]).toString(), /OK/);
  t.match(readFileSync(join(out, 'issuing-2.pem.audit.jsonl'), 'utf8'), /"action":"ceremony.issuing.sign"/);
});
