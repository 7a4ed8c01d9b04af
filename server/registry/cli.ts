/**
 * `keyline registry list | setup`: the configured registries with their registration and outbox job counts, and
 * the one-time CA-level setup of a registry (AWS JITP: each issuing CA registered with its
 * provisioning template; Azure DPS: an enrollment group on each issuing CA). Setup covers every
 * CA keyline.json lists, so a CA added by a rotation (issue 19) is known to the cloud before it
 * issues, and takes a CA the root revoked out of the cloud (revoked-ca-deactivation.ts). It opens
 * the HSM as the server does: registering a CA with AWS proves possession of its key.
 */
import { userInfo } from 'node:os';
import { parseCommand, runCli, UsageError } from '../../common/cli.js';
import { KeylineError } from '../../common/errors.js';
import { createLogger } from '../../common/log.js';
import { loadConfig, loadConfigWithoutSecrets } from '../config.js';
import { toCert } from '../ca/chain.js';
import { VERIFICATION_CODE } from '../ca/verification-certificate.js';
import { openCa } from '../open-ca.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { parseRegistrySections, registrySection, setupRegistry } from './registries.js';
import { deactivateRevokedCas } from './revoked-ca-deactivation.js';
import { revokedIssuingCas } from './revoked-issuing-cas.js';
import { SELF_REGISTRY } from './self-registry.js';
import { auditVerificationCertificate } from './verification-audit.js';

const USAGE = `Usage: keyline registry <list|setup> [options]

  list   the registries work orders may name ('self' and keyline.json's registries), their
         type and mode, their registered units and their outbox jobs by state
  setup  prepare a registry's CA-level mode for each issuing CA (AWS JITP, Azure DPS
         enrollment group); idempotent

Run \`keyline registry <list|setup> --help\` for options.`;

const LIST_USAGE = `Usage: keyline registry list [--json] [--config FILE]

  The registries work orders may name, with type, mode, registered units and outbox job counts
  by state.
  Reads the config and the database only (no HSM PIN needed).

Options:
  --config FILE  server config (default certs-dev/keyline.json)
  --json         machine-readable output
  -h, --help     this text`;

const SETUP_USAGE = `Usage: keyline registry setup --registry NAME [--ca KEYID] [--verification-code CODE] [--json] [--config FILE]

  Prepares registry NAME's CA-level mode with each issuing CA keyline.json's ca.issuing lists
  (after a rotation the new CA too): AWS IoT 'jitp' registers each CA with its provisioning
  template (proof of possession signed in the HSM); Azure DPS 'enrollment-group' creates an
  enrollment group on each CA (the configured id for the first, id-KEYID for the others).
  Safe to run again: what the cloud already holds is left as it is. A CA the root has revoked
  (root CRL imported by \`keyline ca import-crl\`, or ca.rootCrl) is never registered, and is
  taken out of the cloud when an earlier setup put it there (the clouds check no Keyline CRL):
  AWS IoT sets its CA certificate INACTIVE with auto-registration DISABLE, Azure DPS disables its
  enrollment group (kept, not deleted). Each such change goes to the audit log
  (registry.ca-deactivated). Device certificates the cloud already registered stay: revoke units
  one by one (keyline revoke). --ca naming a revoked CA only does that; it is CA_REVOKED when the
  cloud holds nothing of it.

  Azure DPS manual proof of possession: DPS generates a verification code per uploaded CA
  certificate (a new one each time it is asked). Setup signs a certificate with CN = the code
  with that CA's key in the HSM and prints it (verificationCertificate, for that CA's keyId).
  After a rotation, verify each CA in turn:
    az iot dps certificate generate-verification-code ... (for that CA's certificate in DPS)
    keyline registry setup --registry NAME --ca KEYID --verification-code CODE --json
    az iot dps certificate verify ... --path verification.pem (for that CA's certificate)
  The config's caVerificationCode is one value: refused when setup covers several CAs.
  Each verification certificate signed goes to the audit log (registry.verification-certificate).

Options:
  --registry NAME  a registry of keyline.json's registries
  --ca KEYID       only the issuing CA with this key id (as \`keyline ca status\` prints it)
  --verification-code CODE
                   Azure DPS: the code generate-verification-code gave for one CA's certificate
                   (hex); needs --ca KEYID unless keyline.json lists one issuing CA
  --config FILE    server config (default certs-dev/keyline.json); opens the HSM like the server
  --json           machine-readable summary: the first CA set up at the top level, and
                   cas: [{ keyId, ... }] for every CA set up, skipped: [{ keyId, revoked,
                   cloud: deactivated|already-deactivated|not-registered|not-applicable }],
                   deactivated: [{ keyId, revoked, registry, type, ...cloud ids }] (this run);
                   a DPS verificationCertificate is in its CA's cas entry (verificationCaKeyId)
  -h, --help       this text`;

/** One row of `registry list`. */
export interface RegistryListing {
  name: string;
  type: string;
  mode: string | null;
  /** Jobs by action then state; null when the store cannot count them. */
  jobs: Record<string, Record<string, number>> | null;
  /** Units registered with it (Keyline's own are recorded with the unit, without a job). */
  registrations: number | null;
}

/** Entry point of `keyline registry`. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(rest);
  if (sub === 'setup') return setup(rest);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(USAGE + '\n');
    return sub === undefined ? 2 : 0;
  }
  process.stderr.write(`keyline: registry: unknown subcommand '${sub}'\n\n${USAGE}\n`);
  return 2;
}

async function list(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, { usage: LIST_USAGE, options: { config: { type: 'string', default: 'certs-dev/keyline.json' }, json: { type: 'boolean', default: false } } });
    if (!args) return 0;
    const config = loadConfigWithoutSecrets(args.values.config);
    const sections = parseRegistrySections(config);
    const store = await openStore(config.store.url, { mustExist: true });
    let counts;
    let registered;
    try {
      ({ counts, registered } = await store.transaction(async (tx) => ({
        counts: await tx.outbox.jobCounts(), registered: await tx.outbox.registrationCounts(),
      }), { readOnly: true }));
    } finally {
      await store.close();
    }
    const jobsOf = (name: string) => {
      if (!counts) return null;
      const out: Record<string, Record<string, number>> = {};
      for (const c of counts.filter((c) => c.registry === name)) (out[c.action] ??= {})[c.status] = c.count;
      return out;
    };
    const of = (name: string) => ({ jobs: jobsOf(name), registrations: registered ? (registered.find((c) => c.registry === name)?.count ?? 0) : null });
    const rows: RegistryListing[] = [
      { name: SELF_REGISTRY, type: 'self', mode: null, ...of(SELF_REGISTRY) },
      ...sections.map((s) => ({ name: s.name, type: s.kind.type as string, mode: s.cfg.mode ?? null, ...of(s.name) })),
    ];
    // Jobs or registrations naming a registry no longer configured would otherwise go unseen.
    for (const name of new Set([...(counts ?? []), ...(registered ?? [])].map((c) => c.registry))) {
      if (!rows.some((r) => r.name === name)) rows.push({ name, type: '(not configured)', mode: null, ...of(name) });
    }
    if (args.values.json) {
      process.stdout.write(JSON.stringify({ registries: rows }, null, 2) + '\n');
      return 0;
    }
    for (const r of rows) {
      const jobs = r.jobs === null ? 'job counts unavailable for this store'
        : Object.entries(r.jobs).map(([action, st]) => `${action}: ${Object.entries(st).map(([k, n]) => `${n} ${k}`).join(', ')}`).join('; ') || 'no jobs';
      const regs = r.registrations === null ? '' : `${r.registrations} registered; `;
      process.stdout.write(`${r.name.padEnd(16)} ${r.type.padEnd(16)} ${(r.mode ?? '-').padEnd(16)} ${regs}${jobs}\n`);
    }
    return 0;
  });
}

async function setup(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, {
      usage: SETUP_USAGE,
      options: {
        registry: { type: 'string' }, ca: { type: 'string' }, 'verification-code': { type: 'string' },
        config: { type: 'string', default: 'certs-dev/keyline.json' }, json: { type: 'boolean', default: false },
      },
    });
    if (!args) return 0;
    const name = args.values.registry;
    if (!name) throw new UsageError(`--registry NAME is required\n\n${SETUP_USAGE}`);
    const verificationCode = args.values['verification-code']?.trim();
    if (verificationCode !== undefined && !VERIFICATION_CODE.test(verificationCode)) {
      throw new UsageError('--verification-code: a hex string of 1-64 characters, as az iot dps certificate generate-verification-code prints it');
    }
    const { config, secrets } = loadConfig(args.values.config);
    registrySection(config, name);
    const log = createLogger({ level: config.log.level === 'info' ? 'warn' : config.log.level });
    const ca = await openCa(config, secrets, { sessions: 1, log });
    // Opened as the server opens it (created on first use): before the first start it holds no
    // root CRL, and ca.rootCrl is read as well. It stays open for the deactivations' audit records.
    let store: Store | undefined;
    try {
      const wanted = args.values.ca?.toLowerCase().replace(/:/g, '');
      const named = wanted === undefined ? ca.cas : ca.cas.filter((c) => c.keyId === wanted);
      if (named.length === 0) {
        throw new KeylineError('CA_UNKNOWN', `--ca ${args.values.ca}: no issuing CA with that key id in ca.issuing of ${config.file} (listed: ${ca.cas.map((c) => c.keyId).join(', ')})`);
      }
      // DPS generates a code per CA certificate: one code is for one CA, which the operator names.
      if (verificationCode !== undefined && named.length !== 1) {
        throw new UsageError(`--verification-code applies to one issuing CA, and ${config.file} lists ${named.length} (${named.map((c) => c.keyId).join(', ')}): ` +
          'name the CA whose certificate DPS generated the code for with --ca KEYID (one run per CA)');
      }
      store = await openStore(config.store.url);
      const actor = `cli:${userInfo().username}`;
      const revoked = await revokedIssuingCas(config, store, toCert(ca.rootDer), ca.cas);
      const issuingCasDer = ca.cas.map((c) => c.der);
      const progress = (m: string) => process.stderr.write(`${m}\n`);
      // A revoked CA registered before its revocation is taken out of the cloud first: the
      // cloud checks no Keyline CRL. Never registered again either way.
      const revokedNamed = named.filter((c) => revoked.has(c.keyId)).map((c) => ({ keyId: c.keyId, der: c.der, revoked: revoked.get(c.keyId)! }));
      const outcomes = revokedNamed.length === 0 ? []
        : await deactivateRevokedCas(config, name, revokedNamed, { store, actor, log, progress, issuingCasDer });
      const cloudOf = (keyId: string) => outcomes?.find((o) => o.keyId === keyId);
      const skipped = revokedNamed.map(({ keyId, revoked: reason }) => ({ keyId, revoked: reason, cloud: cloudOf(keyId)?.outcome ?? 'not-applicable' }));
      const deactivated = (outcomes ?? []).filter((o) => o.outcome === 'deactivated').map((o) => ({ keyId: o.keyId, revoked: o.revoked, ...o.detail }));
      const targets = named.filter((c) => !revoked.has(c.keyId));
      if (targets.length === 0 && !(outcomes ?? []).some((o) => o.outcome !== 'not-registered')) {
        throw new KeylineError('CA_REVOKED', `${skipped.map((s) => `issuing CA ${s.keyId} (${s.revoked})`).join(', ')}: on the root's CRL; setup never registers a revoked CA, and ${name} holds nothing of it to deactivate`);
      }
      for (const s of skipped) process.stderr.write(`${name}: issuing CA ${s.keyId}: skipped, revoked by the root (${s.revoked}); cloud: ${s.cloud}\n`);
      const done: ({ keyId: string } & Record<string, unknown>)[] = [];
      const setupCaKeyIds = targets.map((c) => c.keyId);
      for (const [i, c] of targets.entries()) {
        process.stderr.write(`${name}: issuing CA ${c.keyId} (${i + 1} of ${targets.length})\n`);
        const summary = await setupRegistry(config, name, {
          issuingSigner: c.signer, issuingCaDer: c.der, issuingCaPem: c.pem, issuingCasDer, log, setupCaKeyIds,
          ...(verificationCode !== undefined ? { verificationCode } : {}),
          recordVerificationCertificate: (pem) => auditVerificationCertificate(store!, actor, name, c.keyId, pem),
          progress: (m) => process.stderr.write(`  ${m}\n`),
        });
        done.push({ keyId: c.keyId, ...summary });
      }
      if (args.values.json) {
        // The first CA's fields stay at the top level, as before issue 19, for scripts reading them.
        const { keyId: _first, ...first } = done[0] ?? { keyId: '' };
        process.stdout.write(JSON.stringify({ registry: name, ...first, cas: done, skipped, deactivated }, null, 2) + '\n');
        return 0;
      }
      for (const { keyId, ...summary } of done) {
        process.stdout.write(`issuing CA ${keyId}\n`);
        for (const [k, v] of Object.entries(summary)) process.stdout.write(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
      }
      for (const s of skipped) {
        process.stdout.write(`issuing CA ${s.keyId}\n  skipped: revoked by the root (${s.revoked})\n  cloud: ${CLOUD_TEXT[s.cloud]}\n`);
        const d = deactivated.find((x) => x.keyId === s.keyId);
        if (d) for (const [k, v] of Object.entries(d)) if (k !== 'keyId' && k !== 'revoked') process.stdout.write(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
      }
      return 0;
    } finally {
      await store?.close();
      await ca.close();
    }
  });
}

/** The text output's word for what a revoked CA's cloud state was found or made. */
const CLOUD_TEXT: Record<string, string> = {
  deactivated: 'deactivated now (the cloud no longer admits what it signs)',
  'already-deactivated': 'already deactivated',
  'not-registered': 'not registered there',
  'not-applicable': 'this registry mode trusts no issuing CA',
};
