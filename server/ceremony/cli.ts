/**
 * `keyline ceremony <step>`: the key ceremony commands. `init --dev` builds the development PKI
 * in one step (here); the production steps live in one file per role: root-cli.ts (root,
 * revoke-issuing, crl: the root token, offline), issuing-cli.ts (csr on the line, sign-csr
 * offline), transcript-cli.ts (verify-transcript) and rehearse-cli.ts (the whole sequence on
 * throw-away tokens). Only requests, certificates, CRLs and the transcript cross the air gap.
 */
import { join, resolve } from 'node:path';
import { hasCode } from '../../common/errors.js';
import { parseCommand, runCli, UsageError } from '../../common/cli.js';
import type { CeremonyEvent } from './ceremony-event.js';
import { initDevPki } from './init-dev.js';
import { writeConsoleIdentity } from './console-identity.js';

const STEPS_USAGE = `Usage: keyline ceremony <step> [options]

Steps:
  init --dev          build the whole development PKI (tokens, CAs, identities, keyline.json)
  root                offline: make the production root in its own token (transcript, first root CRL)
  csr                 on the line: make the issuing CA key in the line token and write its CSR (--next: rotation)
  sign-csr            offline: sign an issuing CA CSR with the root token
  revoke-issuing      offline: put an issuing CA on the root's CRL (compromise, retirement)
  crl                 offline: re-sign the root's CRL before its next update (yearly)
  verify-transcript   check a ceremony transcript: hash chain and root signatures
  rehearse            the whole production sequence on throw-away SoftHSM tokens, checked by OpenSSL

Run \`keyline ceremony <step> --help\` for a step's options.`;

const USAGE = `Usage: keyline ceremony init --dev [--out certs-dev] [--force] [--org NAME] [--root-curve P-256|P-384] [--dns NAME]... [--json]

Builds the development PKI in one step: SoftHSM2 tokens (root and line), the root and issuing CA,
client identities (OU = role) for a station, an operator, a security officer and an auditor
(station-01, operator-01, officer-01, auditor-01: .pem + .key.pem), a server TLS identity and keyline.json,
and operator-01.p12 to open the web console in a browser (the import line is printed).

Options:
  --dev          required: the development ceremony (SoftHSM tokens, PIN files, no offline media)
  --out DIR      output folder (default certs-dev)
  --force        destroy an existing PKI (tokens, certificates, config, database) in DIR first
  --org NAME     organisation in certificate subjects (default "Keyline Dev")
  --root-curve C P-256 (default) or P-384 (a P-384 root cannot be stored compressed on the chip)
  --dns NAME     extra DNS name for the server certificate (repeatable)
  --json         print a JSON summary instead of progress lines
  -h, --help     this text`;

/** The steps besides init, each loaded on demand (rehearse starts a server: not loaded for the others). */
const STEPS: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  root: async () => (await import('./root-cli.js')).rootStep,
  csr: async () => (await import('./issuing-cli.js')).csrStep,
  'sign-csr': async () => (await import('./issuing-cli.js')).signCsrStep,
  'revoke-issuing': async () => (await import('./root-cli.js')).revokeIssuingStep,
  crl: async () => (await import('./root-cli.js')).crlStep,
  'verify-transcript': async () => (await import('./transcript-cli.js')).verifyTranscriptStep,
  rehearse: async () => (await import('./rehearse-cli.js')).rehearseStep,
};

/** Entry point of `keyline ceremony`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const [step, ...rest] = argv;
    if (step === undefined || step === '--help' || step === '-h') {
      process.stdout.write(STEPS_USAGE + '\n');
      return step ? 0 : 2;
    }
    const other = STEPS[step];
    if (other) return (await other())(rest);
    if (step !== 'init') throw new UsageError(`unknown ceremony step '${step}'\n\n${STEPS_USAGE}`);
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
      const p12 = join(pki.outDir, 'operator-01.p12');
      const serverCfg = (pki.config as { server?: { host?: string; port?: number } }).server;
      const identityLines = await writeConsoleIdentity({ certPath: pki.operatorCertPath, keyPath: pki.operatorKeyPath, chainPaths: [pki.issuingCertPath, pki.rootCertPath], out: p12, name: 'operator-01 (Keyline dev)' },
        `https://${serverCfg?.host ?? '127.0.0.1'}:${serverCfg?.port ?? 8443}/console/`);
      if (v.json) {
        process.stdout.write(JSON.stringify({ out: pki.outDir, config: pki.configPath, rootCert: pki.rootCertPath, issuingCert: pki.issuingCertPath, stationCert: pki.stationCertPath, operatorCert: pki.operatorCertPath, operatorP12: p12, officerCert: pki.officerCertPath, auditorCert: pki.auditorCertPath, serverCert: pki.serverCertPath, issuingKey: pki.issuingKeyRef, auditRecords: events.length }, null, 2) + '\n');
      } else {
        for (const line of identityLines) progress(line);
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
