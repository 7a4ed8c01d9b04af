/**
 * `keyline ceremony rehearse`: runs rehearse.ts with the real server (main.ts's startServer) in
 * a throw-away folder, prints each step with the production command it stands for, and exits 0
 * only when every check held.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KeylineError } from '../../common/errors.js';
import { parseCommand } from '../../common/cli.js';
import { startServer } from '../main.js';
import { actorName } from './ceremony-folder.js';
import { rehearse } from './rehearse.js';
import { requireWitnesses } from './transcript.js';

const USAGE = `Usage: keyline ceremony rehearse [--out DIR] [--module PATH] [--witness NAME]... [--org NAME] [--json]

Runs the whole production sequence on throw-away SoftHSM tokens: the root in its own token
(ceremony root), the issuing key in a separate line token (csr), the root signing it (sign-csr),
a server started on the result, one unit issued and checked by OpenSSL (verify -crl_check_all
with the root and issuing CRLs as published, and OCSP), the issuing CA revoked by the root
(revoke-issuing), its CRL imported and published (ca import-crl), OpenSSL refusing the chain, the
server refusing to issue (CA_REVOKED), and the transcript verified and imported into the audit
log. Each step prints the command it stands for. Exit 0 when every check held.

Options:
  --out DIR       keep everything in DIR (must be empty or absent); default a temporary folder, removed after
  --module PATH   SoftHSM2's PKCS#11 module (found when absent)
  --witness NAME  witnesses to record (default two rehearsal names)
  --org NAME      organisation in the subjects (default "Keyline Rehearsal")
  --json          print the steps as JSON`;

/** `keyline ceremony rehearse`. */
export async function rehearseStep(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: USAGE, options: { out: { type: 'string' }, module: { type: 'string' }, witness: { type: 'string', multiple: true }, org: { type: 'string' }, json: { type: 'boolean' } } });
  if (!args) return 0;
  const v = args.values;
  const keep = v.out ? resolve(v.out) : undefined;
  if (keep && existsSync(keep) && readdirSync(keep).length > 0) throw new KeylineError('PKI_EXISTS', `--out ${keep} is not empty`);
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'keyline-rehearsal-'));
  const witnesses = requireWitnesses(v.witness ?? ['rehearsal witness 1', 'rehearsal witness 2'], 2);
  try {
    const r = await rehearse({
      dir, module: v.module, ...(v.org ? { org: v.org } : {}), witnesses, actor: actorName(),
      startServer: (configFile) => startServer({ configFile }),
      progress: v.json ? undefined : (line) => process.stdout.write(`rehearse: ${line}\n`),
    });
    if (v.json) process.stdout.write(JSON.stringify({ ...r, kept: !!keep }, null, 2) + '\n');
    else process.stdout.write(`rehearse: ${r.ok ? 'PASS' : 'FAIL'}: ${r.steps.filter((s) => s.ok).length}/${r.steps.length} steps held${keep ? `; everything is in ${keep}` : ''}\n`);
    return r.ok ? 0 : 1;
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
