/**
 * `keyline ceremony <step>`: the key ceremony commands. Only `init --dev` exists so far; a
 * production flow (root on a real offline token signing a CSR) would add `sign-csr` here.
 */
import { join, resolve } from 'node:path';
import { hasCode } from '../../common/errors.js';
import { parseCommand, runCli, UsageError } from '../../common/cli.js';
import { initDevPki, type CeremonyEvent } from './init-dev.js';

const USAGE = `Usage: keyline ceremony init --dev [--out certs-dev] [--force] [--org NAME] [--root-curve P-256|P-384] [--dns NAME]... [--json]

Builds the development PKI in one step: SoftHSM2 tokens (root and line), the root and issuing CA,
a station identity (station-01.pem + key), a server TLS identity and keyline.json.

Options:
  --dev          required: the development ceremony (SoftHSM tokens, PIN files, no offline media)
  --out DIR      output folder (default certs-dev)
  --force        destroy an existing PKI (tokens, certificates, config, database) in DIR first
  --org NAME     organisation in certificate subjects (default "Keyline Dev")
  --root-curve C P-256 (default) or P-384 (a P-384 root cannot be stored compressed on the chip)
  --dns NAME     extra DNS name for the server certificate (repeatable)
  --json         print a JSON summary instead of progress lines
  -h, --help     this text`;

/** Entry point of `keyline ceremony`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const [step, ...rest] = argv;
    if (step === undefined || step === '--help' || step === '-h') {
      process.stdout.write(USAGE + '\n');
      return step ? 0 : 2;
    }
    if (step !== 'init') throw new UsageError(`unknown ceremony step '${step}'\n\n${USAGE}`);
    const args = parseCommand(rest, {
      usage: USAGE,
      options: {
        dev: { type: 'boolean' }, out: { type: 'string' }, force: { type: 'boolean' }, org: { type: 'string' },
        'root-curve': { type: 'string' }, dns: { type: 'string', multiple: true }, json: { type: 'boolean' },
      },
    });
    if (!args) return 0;
    const v = args.values;
    if (!v.dev) throw new UsageError(`only the development ceremony exists: pass --dev\n\n${USAGE}`);
    const rootCurve = v['root-curve'] ?? 'P-256';
    if (rootCurve !== 'P-256' && rootCurve !== 'P-384') throw new UsageError(`--root-curve must be P-256 or P-384, got '${rootCurve}'`);
    const out = resolve(v.out ?? 'certs-dev');
    const events: CeremonyEvent[] = [];
    const progress = v.json ? () => {} : (line: string) => process.stdout.write(`ceremony: ${line}\n`);
    try {
      const pki = await initDevPki({ out, force: v.force, org: v.org, rootCurve, dnsNames: v.dns, record: async (e) => void events.push(e), progress });
      await writeAudit(out, events);
      if (v.json) {
        process.stdout.write(JSON.stringify({ out: pki.outDir, config: pki.configPath, rootCert: pki.rootCertPath, issuingCert: pki.issuingCertPath, stationCert: pki.stationCertPath, serverCert: pki.serverCertPath, issuingKey: pki.issuingKeyRef, auditRecords: events.length }, null, 2) + '\n');
      } else {
        progress(`done: ${events.length} audit records; start the server with: keyline server --config ${pki.configPath}`);
      }
      return 0;
    } catch (err) {
      // A refused run must not touch the existing PKI's database; a failed one leaves its trail.
      if (!hasCode(err, 'PKI_EXISTS') && events.length > 0) {
        await writeAudit(out, [...events, { action: 'ceremony.failed', actor: 'ceremony:dev', detail: { code: (err as { code?: string }).code ?? 'INTERNAL', message: (err as Error).message } }]).catch(() => {});
      }
      throw err;
    }
  });
}

/** Appends the ceremony's events to the hash-chained audit log in `<out>/keyline.db`, one transaction. */
async function writeAudit(out: string, events: CeremonyEvent[]): Promise<void> {
  const { openStore } = await import('../store/open-store.js');
  const store = await openStore(`sqlite:${join(out, 'keyline.db')}`);
  try {
    await store.transaction(async (tx) => {
      for (const e of events) await tx.audit.append(e);
    });
  } finally {
    await store.close();
  }
}
