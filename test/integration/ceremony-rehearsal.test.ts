/**
 * `keyline ceremony rehearse` end to end on SoftHSM (issue 19): the root in its own token, the
 * line token separate (a root on it refused; the server's ROOT_KEY_ON_LINE guard passes), a unit
 * issued and verified by OpenSSL with -crl_check_all and OCSP, the issuing CA revoked by the
 * root, the root CRL published, OpenSSL refusing the chain, the server refusing to issue, and the
 * transcript verified and imported into the audit log. Run as the CLI, in its own process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runKeyline } from '../helpers/keyline-cli.js';

t.test('the rehearsal passes every step and keeps its folder on request', async (t) => {
  const out = join(t.testdir(), 'rehearsal');
  const r = await runKeyline(['ceremony', 'rehearse', '--out', out, '--json', '--witness', 'Alice', '--witness', 'Bob']);
  t.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { ok: boolean; steps: Array<{ name: string; ok: boolean; detail: string }>; kept: boolean };
  t.ok(result.ok);
  t.same(result.steps.map((s) => s.name), [
    'root', 'csr', 'root refused on the line token', 'sign-csr', 'server', 'audit import', 'unit issued', 'openssl verify -crl_check_all', 'openssl ocsp',
    'revoke-issuing', 'root CRL published', 'openssl refuses the chain', 'server refuses to issue', 'transcript and audit log',
  ]);
  for (const s of result.steps) t.ok(s.ok, `${s.name}: ${s.detail}`);
  t.match(result.steps.find((s) => s.name === 'openssl refuses the chain')!.detail, /certificate revoked/);
  t.match(result.steps.find((s) => s.name === 'server refuses to issue')!.detail, /503 CA_REVOKED/);
  // The offline folder and the line folder are apart; only certificates and CRLs crossed.
  t.ok(existsSync(join(out, 'ceremony', 'ceremony-transcript.jsonl')));
  t.notOk(existsSync(join(out, 'line', 'ceremony-transcript.jsonl')));
  t.equal(readFileSync(join(out, 'ceremony', 'ceremony-transcript.jsonl'), 'utf8').trim().split('\n').length, 3);
  t.ok(result.kept);
});
