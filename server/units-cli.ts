/**
 * `keyline units list|show`: read the production database from the shell, for line supervisors
 * and audits. Read-only; needs the config (for the store URL) but never the HSM PIN.
 */
import { KeylineError } from '../common/errors.js';
import { intFlag, parseCommand, runCli, UsageError } from '../common/cli.js';
import { toPem } from '../common/pem.js';
import { loadConfigWithoutSecrets } from './config.js';
import { unitView } from './services/views.js';
import { openStore } from './store/open-store.js';
import { UNIT_STATUSES, type Store, type UnitRecord, type UnitStatus } from './store/store.js';

const USAGE = `Usage: keyline units list [--work-order ID] [--status S] [--limit N] [--json] [--config FILE]
       keyline units show SERIAL [--json] [--config FILE]

  list    units ordered by serial; --status is one of ${UNIT_STATUSES.join(', ')}
  show    one unit with its certificate (PEM)

Options:
  --config FILE   server config (default certs-dev/keyline.json); only store.url is used
  --json          machine-readable output
  -h, --help      this text`;

const OPTIONS = {
  config: { type: 'string', default: 'certs-dev/keyline.json' },
  'work-order': { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** Entry point of `keyline units`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, { usage: USAGE, options: OPTIONS, allowPositionals: true });
    if (!args) return 0;
    const [sub, ...rest] = args.positionals;
    const v = args.values;
    if (sub !== 'list' && sub !== 'show') throw new UsageError(`expected 'list' or 'show', got '${sub ?? ''}'\n\n${USAGE}`);
    const store = await openStore(loadConfigWithoutSecrets(v.config).store.url, { mustExist: true });
    try {
      if (sub === 'show') {
        if (rest.length !== 1) throw new UsageError(`units show takes one SERIAL\n\n${USAGE}`);
        return await show(store, rest[0]!, v.json);
      }
      if (rest.length) throw new UsageError(`units list takes no positional arguments, got '${rest.join(' ')}'`);
      if (v.status !== undefined && !UNIT_STATUSES.includes(v.status as UnitStatus)) {
        throw new UsageError(`--status must be one of ${UNIT_STATUSES.join(', ')}, got '${v.status}'`);
      }
      const limit = intFlag('limit', v.limit, Number.MAX_SAFE_INTEGER, 1);
      return await list(store, { workOrder: v['work-order'], status: v.status as UnitStatus | undefined, limit, json: v.json });
    } finally {
      await store.close();
    }
  });
}

async function list(store: Store, o: { workOrder?: string; status?: UnitStatus; limit: number; json: boolean }): Promise<number> {
  const out = process.stdout;
  let cursor: string | undefined;
  let count = 0;
  if (o.json) out.write('[');
  else out.write(`${'SERIAL'.padEnd(18)}  ${'STATUS'.padEnd(11)}  ${'WORK ORDER'.padEnd(16)}  ${'STATION'.padEnd(16)}  ${'ISSUED AT'.padEnd(24)}  FINGERPRINT\n`);
  // Page through the table so a million-unit database streams instead of loading at once.
  do {
    const page = await store.transaction(
      (tx) => tx.units.list({ ...(o.workOrder ? { workOrder: o.workOrder } : {}), ...(o.status ? { status: o.status } : {}), ...(cursor ? { cursor } : {}), limit: Math.min(1000, o.limit - count) }),
      { readOnly: true },
    );
    for (const u of page.units) {
      if (o.json) out.write(`${count ? ',' : ''}\n${JSON.stringify(unitView(u))}`);
      else out.write(`${u.serial}  ${u.status.padEnd(11)}  ${u.workOrder.padEnd(16)}  ${u.station.padEnd(16)}  ${u.issuedAt.padEnd(24)}  ${u.fingerprintSha256.slice(0, 16)}…\n`);
      count++;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor && count < o.limit);
  out.write(o.json ? '\n]\n' : `${count} unit${count === 1 ? '' : 's'}\n`);
  return 0;
}

async function show(store: Store, serial: string, json: boolean): Promise<number> {
  const u: UnitRecord | null = await store.transaction((tx) => tx.units.getBySerial(serial.toUpperCase()), { readOnly: true });
  if (!u) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${serial}`);
  const view = unitView(u, true);
  if (json) {
    process.stdout.write(JSON.stringify({ ...view, idempotencyKey: u.idempotencyKey, updatedAt: u.updatedAt }, null, 2) + '\n');
    return 0;
  }
  const rows: [string, string | null][] = [
    ['serial', u.serial], ['status', u.status], ['status reason', u.statusReason], ['work order', u.workOrder], ['station', u.station],
    ['issued at', u.issuedAt], ['confirmed at', u.confirmedAt], ['updated at', u.updatedAt], ['public key', view.publicKey],
    ['cert serial', u.certificateSerial], ['fingerprint', u.fingerprintSha256],
  ];
  for (const [k, val] of rows) if (val !== null) process.stdout.write(`${k.padEnd(14)} ${val}\n`);
  process.stdout.write(toPem(u.certificateDer));
  return 0;
}
