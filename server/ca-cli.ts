/**
 * `keyline ca status | activate | import-crl`: the issuing CAs' life on the server side (issue
 * 19). `activate` records which CA issues from when (every server process and replica switches
 * within a second of that time, without a restart); `import-crl` brings the root's CRL from the
 * offline ceremony into the store (published at the issuing CAs' CDP, obeyed: a CA it lists
 * issues nothing more); `status` prints every CA's validity, key id, and which one issues.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { KeylineError } from '../common/errors.js';
import { parseCommand, runCli, UsageError } from '../common/cli.js';
import { fromPem } from '../common/pem.js';
import { issuingCasOf, loadConfig, loadConfigWithoutSecrets, type Config } from './config.js';
import { toCert } from './ca/chain.js';
import { parseCrl } from './ca/crl-info.js';
import { caKeyId } from './ca/key-id.js';
import { openCa } from './open-ca.js';
import { activationAt } from './services/ca-activation.js';
import { caStatus, type CaStatusReport } from './services/ca-status.js';
import { importRootCrl } from './services/root-crl-import.js';
import { openStore } from './store/open-store.js';
import { caTrustingRegistries } from './registry/revoked-ca-deactivation.js';
import type { Store } from './store/store.js';

const USAGE = `Usage: keyline ca <status | activate | import-crl> [options]

  status       the root and issuing CAs: validity, days left, key ids, which one issues, root CRL
  activate     switch issuance to another configured issuing CA, now or at --at, on every server
  import-crl   import the root's CRL from the ceremony (published and obeyed by every server)

Run \`keyline ca <command> --help\` for its options.`;

const STATUS_USAGE = `Usage: keyline ca status [--config keyline.json] [--json]

Prints the root and every issuing CA keyline.json lists (ca.issuing): subject, key id, validity,
days left, which one issues (ACTIVE), a switch scheduled for later, whether the root's newest
CRL revokes it, the root CRL's number and next update, and every warning (ca.lifetimeWarningDays,
ca.rootCrlWarningDays). Needs no PIN. Exit 1 when nothing may issue (the active CA revoked,
expired or not listed).`;

const ACTIVATE_USAGE = `Usage: keyline ca activate (--next | --key-id HEX) [--at TIME] [--config keyline.json] [--json]

Switches issuance to another issuing CA keyline.json lists (ca.issuing), at TIME (ISO 8601,
default now), on every server process and replica sharing the database, within a second of
TIME and without a restart. The CA is checked first as the server checks it at start-up (key in
the line token, sign-only, matching its certificate, chained to the root) and must not be on the
root's newest CRL. The CA switched away from keeps serving CRL and OCSP for what it issued.

Options:
  --next        the CA listed after the one issuing now
  --key-id HEX  the CA with this key identifier (keyline ca status lists them)
  --at TIME     when to switch (e.g. 2027-01-01T06:00:00Z); a later activate before then replaces it`;

const IMPORT_USAGE = `Usage: keyline ca import-crl --crl FILE [--config keyline.json] [--json]

Imports a root CRL made by 'keyline ceremony root', 'revoke-issuing' or 'crl' (DER or PEM): it
must be signed by the configured root and numbered above the newest stored one (CRL_NOT_NEWER).
Every server serves it at the CDP of the issuing CA certificates within a second, and refuses to
issue with a CA it lists (CA_REVOKED).

The clouds check no Keyline CRL: when the CRL newly revokes a listed CA and a registry trusts
issuing CAs (aws-iot 'jitp' or 'registered-ca', azure-dps 'enrollment-group'), a warning on
stderr names the command that takes the CA out of it (keyline registry setup --registry NAME
--ca KEYID), also in --json as stillTrustedBy: [{ keyId, registry, type, mode, command }].
Not run from here: it needs the cloud credentials, this import needs none.`;

/** Entry point of `keyline ca`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '--help' || cmd === '-h') {
      process.stdout.write(USAGE + '\n');
      return cmd ? 0 : 2;
    }
    if (cmd === 'status') return status(rest);
    if (cmd === 'activate') return activate(rest);
    if (cmd === 'import-crl') return importCrl(rest);
    throw new UsageError(`unknown command 'ca ${cmd}'\n\n${USAGE}`);
  });
}

const CONFIG_OPTIONS = { config: { type: 'string' }, json: { type: 'boolean' } } as const;

async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(config.store.url, { mustExist: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const certAt = (path: string) => toCert(fromPem(readFileSync(path, 'utf8')));

/** The report `keyline ca status` prints, from the files and the store alone (no token). */
export async function caStatusOf(config: Config, store: Store, now = new Date()): Promise<CaStatusReport> {
  const root = certAt(config.ca.rootCert);
  const issuing = issuingCasOf(config).map((e) => {
    const cert = certAt(e.cert);
    return { keyId: caKeyId(cert), cert };
  });
  const { rows, rootCrl } = await store.transaction(async (tx) => ({ rows: await tx.ca.activations(), rootCrl: await tx.ca.latestRootCrl() }), { readOnly: true });
  const decided = activationAt(rows, now);
  const activeKeyId = decided.current?.keyId ?? issuing[0]!.keyId;
  const crl = rootCrl ? parseCrl(rootCrl.der) : null;
  const revoked = new Map((crl?.entries() ?? []).map((e) => [e.serialHex, e]));
  return caStatus({
    root, rootKeyId: caKeyId(root), issuing, activeKeyId, activeLoaded: issuing.some((i) => i.keyId === activeKeyId),
    revoked: (s) => {
      const e = revoked.get(s);
      return e ? { reason: e.reason, revokedAt: e.revokedAt.toISOString() } : null;
    },
    rootCrl: crl ? { number: crl.number ?? 0, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate } : null,
    pending: decided.pending ? { keyId: decided.pending.keyId, activateAt: decided.pending.activateAt } : null,
    thresholdsDays: config.ca.lifetimeWarningDays, rootCrlWarningDays: config.ca.rootCrlWarningDays, now,
  });
}

async function status(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: STATUS_USAGE, options: CONFIG_OPTIONS });
  if (!args) return 0;
  const config = loadConfigWithoutSecrets(args.values.config ?? 'certs-dev/keyline.json');
  const r = await withStore(config, (store) => caStatusOf(config, store));
  if (args.values.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return r.ok ? 0 : 1;
  }
  for (const c of r.cas) {
    const flags = [c.active && 'ACTIVE', r.pending?.keyId === c.keyId && `next at ${r.pending.activateAt}`, c.revoked && `REVOKED (${c.revoked.reason}, ${c.revoked.revokedAt})`, c.warningDays !== null && `under ${c.warningDays} days`].filter(Boolean);
    process.stdout.write(`${c.role.padEnd(8)} ${c.keyId}  ${c.subject}  serial ${c.serial}\n`);
    process.stdout.write(`         valid ${c.notBefore} to ${c.notAfter}, ${c.daysLeft} days left${flags.length ? `  [${flags.join('; ')}]` : ''}\n`);
  }
  if (r.rootCrl) process.stdout.write(`root CRL number ${r.rootCrl.number}, this update ${r.rootCrl.thisUpdate}, next update ${r.rootCrl.nextUpdate} (${r.rootCrl.daysLeft} days left)\n`);
  for (const w of r.warnings) process.stdout.write(`warning: ${w.message}\n`);
  return r.ok ? 0 : 1;
}

async function activate(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: ACTIVATE_USAGE, options: { ...CONFIG_OPTIONS, next: { type: 'boolean' }, 'key-id': { type: 'string' }, at: { type: 'string' } } });
  if (!args) return 0;
  const v = args.values;
  if (!v.next === !v['key-id']) throw new UsageError(`give exactly one of --next and --key-id\n\n${ACTIVATE_USAGE}`);
  const at = v.at ? new Date(v.at) : new Date();
  if (Number.isNaN(at.getTime())) throw new UsageError(`--at must be an ISO 8601 time, got '${v.at}'`);
  const { config, secrets } = loadConfig(v.config ?? 'certs-dev/keyline.json');
  const ca = await openCa(config, secrets, { sessions: 1 });
  try {
    return await withStore(config, async (store) => {
      const before = await caStatusOf(config, store);
      const current = before.cas.find((c) => c.role === 'issuing' && c.active);
      const listed = ca.cas.map((c) => c.keyId);
      const keyId = v['key-id']?.toLowerCase() ?? listed[listed.indexOf(current?.keyId ?? '') + 1];
      if (!keyId) throw new KeylineError('CA_UNKNOWN', `--next: no issuing CA listed after the active one (${current?.keyId}) in ca.issuing of ${config.file}; add it first (keyline ceremony csr --next, sign-csr)`);
      const target = ca.cas.find((c) => c.keyId === keyId);
      if (!target) throw new KeylineError('CA_UNKNOWN', `--key-id ${keyId}: no issuing CA with that key id in ca.issuing of ${config.file} (listed: ${listed.join(', ')})`);
      const report = before.cas.find((c) => c.keyId === keyId)!;
      if (report.revoked) throw new KeylineError('CA_REVOKED', `issuing CA ${keyId} is on the root's CRL (${report.revoked.reason}); it can never issue again`);
      if (at < target.cert.notBefore || at > target.cert.notAfter) throw new KeylineError('CA_EXPIRED', `issuing CA ${keyId} is not valid at ${at.toISOString()} (${target.cert.notBefore.toISOString()} to ${target.cert.notAfter.toISOString()})`);
      const actor = `cli:${userInfo().username}`;
      const row = await store.transaction(async (tx) => {
        const r = await tx.ca.addActivation({ keyId, activateAt: at.toISOString(), actor });
        await tx.audit.append({ action: 'ca.activate', actor, subject: keyId, detail: { activateAt: r.activateAt, from: current?.keyId ?? null, serial: target.cert.serialNumber, subject: target.cert.subject } });
        return r;
      });
      if (v.json) process.stdout.write(JSON.stringify({ keyId, from: current?.keyId ?? null, activateAt: row.activateAt, seq: row.seq }, null, 2) + '\n');
      else process.stdout.write(`issuing CA ${keyId} ('${target.cert.subject}', serial ${target.cert.serialNumber}) issues from ${row.activateAt}; every server switches within a second of it. ${current?.keyId ?? '(none)'} keeps serving CRL and OCSP for what it issued.\n`);
      return 0;
    });
  } finally {
    await ca.close();
  }
}

async function importCrl(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: IMPORT_USAGE, options: { ...CONFIG_OPTIONS, crl: { type: 'string' } } });
  if (!args) return 0;
  const v = args.values;
  if (!v.crl) throw new UsageError(`--crl is required\n\n${IMPORT_USAGE}`);
  const config = loadConfigWithoutSecrets(v.config ?? 'certs-dev/keyline.json');
  const raw = readFileSync(v.crl);
  const der = raw.subarray(0, 5).toString('latin1') === '-----' ? fromPem(raw.toString('utf8'), 'X509 CRL') : raw;
  const root = certAt(config.ca.rootCert);
  const { crl, before } = await withStore(config, async (store) => {
    const previous = await store.transaction((tx) => tx.ca.latestRootCrl(), { readOnly: true });
    return { crl: await importRootCrl(store, der, root, `cli:${userInfo().username}`), before: previous ? parseCrl(previous.der) : null };
  });
  const listed = new Map(issuingCasOf(config).map((e) => {
    const c = certAt(e.cert);
    return [c.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''), caKeyId(c)];
  }));
  const revoked = crl.entries().map((e) => ({ serial: e.serialHex, reason: e.reason, revokedAt: e.revokedAt.toISOString(), keyId: listed.get(e.serialHex) ?? null }));
  // The clouds check no Keyline CRL: a CA registered for automatic registration keeps admitting
  // what its key signs until `registry setup` takes it out. Not done here: the import needs no
  // cloud credentials (nor the HSM PIN) and must not fail half-way on a cloud outage.
  const wasRevoked = new Set((before?.entries() ?? []).map((e) => e.serialHex));
  const configPath = v.config ?? 'certs-dev/keyline.json';
  const stillTrustedBy = revoked.filter((r) => r.keyId && !wasRevoked.has(r.serial)).flatMap((r) => caTrustingRegistries(config).map((g) => ({
    keyId: r.keyId!, registry: g.name, type: g.type, mode: g.mode,
    command: `keyline registry setup --registry ${shellWord(g.name)} --ca ${r.keyId} --config ${shellWord(configPath)}`,
  })));
  for (const s of stillTrustedBy) {
    process.stderr.write(`warning: registry '${s.registry}' (${s.type}${s.mode ? ` ${s.mode}` : ''}) still trusts issuing CA ${s.keyId}: the cloud checks no Keyline CRL; take it out with: ${s.command}\n`);
  }
  if (v.json) {
    process.stdout.write(JSON.stringify({ number: crl.number, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() ?? null, revoked, stillTrustedBy }, null, 2) + '\n');
  } else {
    process.stdout.write(`root CRL number ${crl.number} imported (next update ${crl.nextUpdate?.toISOString()}); every server serves and obeys it within a second\n`);
    for (const r of revoked) process.stdout.write(`revoked issuing CA serial ${r.serial}${r.keyId ? ` (key id ${r.keyId}, configured: it issues nothing more)` : ''}: ${r.reason} ${r.revokedAt}\n`);
  }
  return 0;
}

/** `w` as one shell word (quoted only when it needs to be). */
const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
