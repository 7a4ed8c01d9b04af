/**
 * `keyline est`: the operator's side of EST. `pending` lists enrollment requests of labels with
 * manual approval, `approve` / `reject` decide them (audited, the operator's login as the actor;
 * the device's next retry is then issued or refused), `hash-password` makes the scrypt hash a
 * label's Basic credentials are checked against. Needs the config for the store, never the HSM PIN.
 */
import { userInfo } from 'node:os';
import { parseCommand, runCli, UsageError } from '../../common/cli.js';
import { loadConfigWithoutSecrets } from '../config.js';
import { createEnrollmentApprovals, type EnrollmentRequestView } from '../services/enrollment-approvals.js';
import { openStore } from '../store/open-store.js';
import { hashPassword } from './password-hash.js';

const USAGE = `Usage: keyline est pending [--label L] [--serial S] [--all] [--json] [--config FILE]
       keyline est approve (--label L | --serial S | --key SHA256) [--json] [--config FILE]
       keyline est reject (--label L | --serial S | --key SHA256) [--json] [--config FILE]
       keyline est hash-password        (reads the password from standard input)

  pending        enrollment requests waiting for an operator (--all: decided ones too)
  approve        admit every pending request matching the flags (given together, all must match);
                 the device's next retry (Retry-After) is issued under the usual rules
  reject         refuse them: the device's next retry gets 403 ENROLLMENT_REJECTED
  hash-password  print the scrypt hash for est.labels.<label>.auth.basic.passwordHash (put it in
                 a file and reference it: {"file": "est-line1.hash"})

Options:
  --label L       the EST label
  --serial S      the chip serial the request names (18 hex digits)
  --key SHA256    the first 8+ hex digits of the SHA-256 of the request's public key (as listed)
  --config FILE   server config (default certs-dev/keyline.json); only store.url is used
  --json          machine-readable output
  -h, --help      this text`;

const OPTIONS = {
  config: { type: 'string', default: 'certs-dev/keyline.json' },
  label: { type: 'string' },
  serial: { type: 'string' },
  key: { type: 'string' },
  all: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
} as const;

/** Entry point of `keyline est`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, { usage: USAGE, options: OPTIONS, allowPositionals: true });
    if (!args) return 0;
    const [sub, ...rest] = args.positionals;
    const v = args.values;
    if (rest.length) throw new UsageError(`unexpected '${rest.join(' ')}'\n\n${USAGE}`);
    if (sub === 'hash-password') return hashFromStdin();
    if (sub !== 'pending' && sub !== 'approve' && sub !== 'reject') throw new UsageError(`expected pending, approve, reject or hash-password, got '${sub ?? ''}'\n\n${USAGE}`);
    const store = await openStore(loadConfigWithoutSecrets(v.config).store.url, { mustExist: true });
    try {
      const approvals = createEnrollmentApprovals({ store, now: () => new Date() });
      if (sub === 'pending') {
        const list = await approvals.list({ ...(v.all ? {} : { status: 'pending' as const }), ...(v.label ? { label: v.label } : {}), ...(v.serial ? { serial: v.serial.toUpperCase() } : {}) });
        print(list, v.json, v.all ? 'no enrollment requests' : 'no pending enrollment requests');
        return 0;
      }
      if (!v.label && !v.serial && !v.key) throw new UsageError(`${sub} needs --label, --serial and/or --key\n\n${USAGE}`);
      const decided = await approvals.decide({ ...(v.label ? { label: v.label } : {}), ...(v.serial ? { serial: v.serial } : {}), ...(v.key ? { publicKeySha256: v.key } : {}) },
        sub === 'approve' ? 'approved' : 'rejected', `cli:${userInfo().username}`);
      print(decided, v.json, '');
      return 0;
    } finally {
      await store.close();
    }
  });
}

function print(list: EnrollmentRequestView[], json: boolean, empty: string): void {
  if (json) {
    process.stdout.write(JSON.stringify({ requests: list }, null, 2) + '\n');
    return;
  }
  if (list.length === 0 && empty) process.stdout.write(`${empty}\n`);
  for (const r of list) {
    const decided = r.decidedBy ? ` by ${r.decidedBy} ${r.decidedAt}` : '';
    process.stdout.write(`${r.status.padEnd(8)} ${r.label} ${r.serial} key ${r.publicKeySha256.slice(0, 16)} requested ${r.requestedAt} by ${r.requestedBy}${decided}\n`);
  }
}

async function hashFromStdin(): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  // One trailing line end is the terminal's, not the password's.
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!password) throw new UsageError('hash-password: give the password on standard input');
  process.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}
