/**
 * `keyline ceremony <step>`: the key ceremony commands. `init --dev` builds the development PKI
 * in one step; `csr` (on the line) and `sign-csr` (in the controlled environment, root token)
 * are the production flow, where only a request and certificates move between the two.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hasCode } from '../../common/errors.js';
import { parseCommand, runCli, UsageError } from '../../common/cli.js';
import { loadConfig } from '../config.js';
import { openKeyStore } from '../hsm/open-key-store.js';
import type { CeremonyEvent } from './ceremony-event.js';
import { initDevPki } from './init-dev.js';
import { appendJsonl, makeIssuingCsr, readOption, signIssuingCsr } from './sign-csr.js';

const STEPS_USAGE = `Usage: keyline ceremony <step> [options]

Steps:
  init --dev   build the whole development PKI (tokens, CAs, identities, keyline.json)
  csr          on the line: make the issuing CA key in the line token and write its CSR
  sign-csr     in the controlled environment: sign an issuing CA CSR with the root token

Run \`keyline ceremony <step> --help\` for a step's options.`;

const CSR_USAGE = `Usage: keyline ceremony csr --config keyline.json [--org NAME] [--out issuing-ca.csr]

Generates the issuing CA key named by hsm.issuingKey in the line token (unless it exists) and
writes its PKCS#10 request (PEM). The PIN comes from the config's hsm.pin reference.`;

const SIGN_USAGE = `Usage: keyline ceremony sign-csr --csr FILE --root-cert root-ca.pem --root-key PKCS11_URI --pin-file FILE
                                [--softhsm-conf FILE] [--module PATH] [--org NAME (default: the CSR's O)] [--out issuing-ca.pem]

Signs an issuing CA request with the root key (in its own token; the PIN is read from --pin-file,
never from the command line). Writes the issuing CA certificate and appends audit events to
<out>.audit.jsonl for import into the server's audit log.`;

const USAGE = `Usage: keyline ceremony init --dev [--out certs-dev] [--force] [--org NAME] [--root-curve P-256|P-384] [--dns NAME]... [--json]

Builds the development PKI in one step: SoftHSM2 tokens (root and line), the root and issuing CA,
client identities (OU = role) for a station, an operator, a security officer and an auditor
(station-01, operator-01, officer-01, auditor-01: .pem + .key.pem), a server TLS identity and keyline.json.

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
      process.stdout.write(STEPS_USAGE + '\n');
      return step ? 0 : 2;
    }
    if (step === 'csr') return csrStep(rest);
    if (step === 'sign-csr') return signCsrStep(rest);
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
      if (v.json) {
        process.stdout.write(JSON.stringify({ out: pki.outDir, config: pki.configPath, rootCert: pki.rootCertPath, issuingCert: pki.issuingCertPath, stationCert: pki.stationCertPath, operatorCert: pki.operatorCertPath, officerCert: pki.officerCertPath, auditorCert: pki.auditorCertPath, serverCert: pki.serverCertPath, issuingKey: pki.issuingKeyRef, auditRecords: events.length }, null, 2) + '\n');
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

async function csrStep(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: CSR_USAGE, options: { config: { type: 'string' }, org: { type: 'string' }, out: { type: 'string' } } });
  if (!args) return 0;
  if (!args.values.config) throw new UsageError(`--config is required\n\n${CSR_USAGE}`);
  const { config, secrets } = loadConfig(args.values.config);
  const events: CeremonyEvent[] = [];
  const store = openKeyStore(config.hsm, secrets.hsmPin);
  try {
    const pem = await makeIssuingCsr({ lineStore: store, keyRef: config.hsm.issuingKey, org: args.values.org ?? 'Keyline', record: async (e) => void events.push(e) });
    const out = resolve(args.values.out ?? 'issuing-ca.csr');
    writeFileSync(out, pem);
    process.stdout.write(`ceremony: CSR for ${config.hsm.issuingKey} written to ${out}\n`);
  } finally {
    await store.close();
  }
  const { openStore } = await import('../store/open-store.js');
  const db = await openStore(config.store.url);
  try {
    await db.transaction(async (tx) => {
      for (const e of events) await tx.audit.append(e);
    });
  } finally {
    await db.close();
  }
  return 0;
}

async function signCsrStep(argv: string[]): Promise<number> {
  const args = parseCommand(argv, {
    usage: SIGN_USAGE,
    options: {
      csr: { type: 'string' }, 'root-cert': { type: 'string' }, 'root-key': { type: 'string' }, 'pin-file': { type: 'string' },
      'softhsm-conf': { type: 'string' }, module: { type: 'string' }, org: { type: 'string' }, out: { type: 'string' },
    },
  });
  if (!args) return 0;
  const v = args.values;
  for (const req of ['csr', 'root-cert', 'root-key', 'pin-file'] as const) if (!v[req]) throw new UsageError(`--${req} is required\n\n${SIGN_USAGE}`);
  const rootKey = v['root-key']!;
  const token = /(?:^pkcs11:|;)token=([^;?]+)/.exec(rootKey)?.[1];
  if (!token) throw new UsageError(`--root-key must name its token (pkcs11:token=...;object=...), got '${rootKey}'`);
  const pin = readOption(v['pin-file']!, '--pin-file').trim();
  const out = resolve(v.out ?? 'issuing-ca.pem');
  const events: CeremonyEvent[] = [];
  const rootStore = openKeyStore({ module: v.module, softhsmConf: v['softhsm-conf'] && resolve(v['softhsm-conf']), tokenLabel: decodeURIComponent(token) }, pin, { sessions: 1 });
  try {
    const pem = await signIssuingCsr({
      rootStore, rootKeyRef: rootKey, rootCertPem: readOption(v['root-cert']!, '--root-cert'), csrPem: readOption(v.csr!, '--csr'),
      org: v.org, record: async (e) => void events.push(e),
    });
    writeFileSync(out, pem);
  } finally {
    await rootStore.close();
  }
  appendJsonl(`${out}.audit.jsonl`, events);
  process.stdout.write(`ceremony: issuing CA certificate written to ${out}; audit events in ${out}.audit.jsonl\n`);
  return 0;
}
