/**
 * `keyline audit verify`: walks the hash-chained audit log and reports OK with the record count,
 * or the first broken link; exits 1 on a break so scripts and cron jobs can alarm on it.
 */
import { parseCommand, runCli, UsageError } from '../../common/cli.js';
import { loadConfigWithoutSecrets } from '../config.js';
import { openStore } from '../store/open-store.js';
import { verifyAuditChain } from './audit-log.js';

const USAGE = `Usage: keyline audit verify [--config FILE] [--json]

  verify   check every link of the audit log's hash chain; exit 1 at the first broken one

Options:
  --config FILE   server config (default certs-dev/keyline.json); only store.url is used
  --json          print the verdict as JSON
  -h, --help      this text`;

/** Entry point of `keyline audit`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, {
      usage: USAGE,
      options: { config: { type: 'string', default: 'certs-dev/keyline.json' }, json: { type: 'boolean', default: false } },
      allowPositionals: true,
    });
    if (!args) return 0;
    if (args.positionals.length !== 1 || args.positionals[0] !== 'verify') throw new UsageError(`expected 'verify'\n\n${USAGE}`);
    const store = await openStore(loadConfigWithoutSecrets(args.values.config).store.url, { mustExist: true });
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
