/**
 * `keyline audit verify`: walks the hash-chained audit log and reports OK with the record count,
 * or the first broken link; exits 1 on a break so scripts and cron jobs can alarm on it.
 * `keyline audit import --transcript FILE`: appends a verified ceremony transcript's steps.
 */
import { parseCommand, runCli, UsageError } from '../../common/cli.js';
import { resolve } from 'node:path';
import { loadConfigWithoutSecrets, type Config } from '../config.js';
import { readRootCert } from '../ceremony/ceremony-folder.js';
import { importTranscript } from '../ceremony/transcript-import.js';
import { readTranscript } from '../ceremony/transcript.js';
import { openStore } from '../store/open-store.js';
import { verifyAuditChain } from './audit-log.js';

const USAGE = `Usage: keyline audit verify [--config FILE] [--json]
       keyline audit import --transcript FILE [--root-cert FILE] [--config FILE] [--json]

  verify   check every link of the audit log's hash chain; exit 1 at the first broken one
  import   append the steps of a ceremony transcript (keyline ceremony root, sign-csr,
           revoke-issuing, crl) to the audit log, after checking every link and root signature
           against the configured root (ca.rootCert, or --root-cert); entries imported before
           are skipped

Options:
  --config FILE   server config (default certs-dev/keyline.json); only store.url is used
  --json          print the verdict as JSON
  -h, --help      this text`;

/** Entry point of `keyline audit`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, {
      usage: USAGE,
      options: { config: { type: 'string', default: 'certs-dev/keyline.json' }, json: { type: 'boolean', default: false }, transcript: { type: 'string' }, 'root-cert': { type: 'string' } },
      allowPositionals: true,
    });
    if (!args) return 0;
    const cmd = args.positionals.length === 1 ? args.positionals[0] : undefined;
    if (cmd !== 'verify' && cmd !== 'import') throw new UsageError(`expected 'verify' or 'import'\n\n${USAGE}`);
    const config = loadConfigWithoutSecrets(args.values.config);
    if (cmd === 'import') return importStep(config, args.values);
    const store = await openStore(config.store.url, { mustExist: true });
    try {
      const v = await verifyAuditChain(store);
      if (args.values.json) process.stdout.write(JSON.stringify(v) + '\n');
      else if (v.ok) process.stdout.write(`audit log OK: ${v.count} record${v.count === 1 ? '' : 's'}, last hash ${v.lastHash}\n`);
      else {
        process.stdout.write(`audit log BROKEN at seq ${v.seq}: ${v.reason}\n  expected ${v.expected}\n  found    ${v.found}\n  (${v.count} records before it verified)\n`);
      }
      return v.ok ? 0 : 1;
    } finally {
      await store.close();
    }
  });
}

/** `keyline audit import --transcript FILE`. */
async function importStep(config: Config, v: { transcript?: string | undefined; 'root-cert'?: string | undefined; json?: boolean | undefined }): Promise<number> {
  if (!v.transcript) throw new UsageError(`--transcript is required\n\n${USAGE}`);
  const root = readRootCert(resolve(v['root-cert'] ?? config.ca.rootCert));
  const entries = readTranscript(resolve(v.transcript));
  const store = await openStore(config.store.url, { mustExist: true });
  try {
    const r = await importTranscript(store, entries, root);
    if (v.json) process.stdout.write(JSON.stringify(r) + '\n');
    else process.stdout.write(`ceremony transcript ${r.id}: ${r.imported} entr${r.imported === 1 ? 'y' : 'ies'} appended to the audit log, ${r.skipped} already there (head ${r.head})\n`);
    return 0;
  } finally {
    await store.close();
  }
}
