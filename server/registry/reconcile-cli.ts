/**
 * `keyline reconcile`: the shipment gate. Lists units logged but not preregistered, registrations
 * that name no unit, and parked jobs; exits 1 when any exist, so a factory script can refuse to
 * ship a work order until every unit is known to every registry it must reach. Units covered by a
 * CA-level registration (AWS JITP, a DPS enrollment group) and still awaiting their first
 * connection are listed apart: expected before shipping, so informational, never a failure.
 */
import { parseCommand, runCli, UsageError } from '../../common/cli.js';
import { loadConfigWithoutSecrets } from '../config.js';
import { openStore } from '../store/open-store.js';
import { createReconcile, reconcileProblems, type ReconcileReport } from '../services/reconcile.js';

const USAGE = `Usage: keyline reconcile [--work-order ID] [--json] [--config FILE]

  Lists units logged but not preregistered, registrations without a unit, and parked jobs.
  Exit status: 0 when none exist, 1 when any do (gate a shipment on it). Units awaiting their
  first connection under a CA-level registration (AWS JITP, DPS enrollment group) are shown
  separately and do not fail the gate.

Options:
  --work-order ID  only this work order's units (orphan registrations are always listed)
  --config FILE    server config (default certs-dev/keyline.json); only store.url is used
  --json           machine-readable output
  -h, --help       this text`;

const OPTIONS = {
  config: { type: 'string', default: 'certs-dev/keyline.json' },
  'work-order': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** Entry point of `keyline reconcile`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, { usage: USAGE, options: OPTIONS, allowPositionals: true });
    if (!args) return 0;
    if (args.positionals.length) throw new UsageError(`reconcile takes no positional arguments, got '${args.positionals.join(' ')}'\n\n${USAGE}`);
    const v = args.values;
    const store = await openStore(loadConfigWithoutSecrets(v.config).store.url, { mustExist: true });
    let report: ReconcileReport;
    try {
      report = await createReconcile({ store })(v['work-order']);
    } finally {
      await store.close();
    }
    const problems = reconcileProblems(report);
    if (v.json) process.stdout.write(JSON.stringify({ ok: problems === 0, ...report }, null, 2) + '\n');
    else process.stdout.write(render(report));
    return problems === 0 ? 0 : 1;
  });
}

function render(r: ReconcileReport): string {
  const lines: string[] = [];
  for (const u of r.unregistered) lines.push(`not preregistered  ${u.serial}  ${u.registry}`);
  for (const g of r.orphanRegistrations) lines.push(`registration without unit  ${g.serial}  ${g.registry}  ${g.externalId}`);
  for (const j of r.parked) lines.push(`parked job ${j.id}  ${j.serial}  ${j.registry}  ${j.action}  after ${j.attempts} attempts: ${j.lastError ?? ''}`);
  for (const a of r.awaitingConnection) lines.push(`awaiting first connection  ${a.serial}  ${a.registry}  ${a.externalId ?? ''}`);
  lines.push(`${r.unregistered.length} not preregistered, ${r.orphanRegistrations.length} registrations without a unit, ${r.parked.length} parked jobs`
    + (r.awaitingConnection.length ? ` (${r.awaitingConnection.length} awaiting first connection: not a failure)` : ''));
  return lines.join('\n') + '\n';
}
