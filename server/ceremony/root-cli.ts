/**
 * The root's offline steps: `keyline ceremony root` (the production root, once),
 * `keyline ceremony revoke-issuing` (an issuing CA onto the root's CRL) and `keyline ceremony
 * crl` (the yearly re-signing of that CRL). Each needs the root token and its witnesses, and
 * extends the ceremony transcript.
 */
import { resolve } from 'node:path';
import { intFlag, parseCommand, UsageError } from '../../common/cli.js';
import { REVOCATION_REASONS } from '../../common/protocol/revocation.js';
import { loadConfigWithoutSecrets } from '../config.js';
import type { KeyCurve } from '../hsm/key-store.js';
import { actorName } from './ceremony-folder.js';
import { runRootCeremony } from './root-ceremony.js';
import { resignRootCrl, revokeIssuingCa, type RootCrlStepResult } from './root-revocation.js';
import { ROOT_TOKEN_OPTIONS, ROOT_TOKEN_USAGE, type RootTokenOptions } from './root-token.js';
import { requireWitnesses } from './transcript.js';

const WITNESS_USAGE = `  --witness NAME       a custodian present (repeat; at least --min-witnesses)
  --min-witnesses N    how many distinct witnesses the step needs (default 2)`;

const FOLDER_USAGE = `  --out DIR            the ceremony folder holding root-ca.pem and the transcript (default .)
  --root-cert FILE     the root certificate (default <out>/root-ca.pem)
  --transcript FILE    the transcript (default <out>/ceremony-transcript.jsonl; without one, as
                       in a development PKI, the state comes from <out>/root-ca.crl)
  --crl-days N         the new root CRL's validity (default 365)
  --json               print a JSON summary`;

const ROOT_USAGE = `Usage: keyline ceremony root --module PATH --token LABEL --pin-file F --subject "..." [--validity-years N] [--out DIR]
                             --witness NAME --witness NAME [--crl-url URL] [--crl-days N] [--curve P-256|P-384] [--config keyline.json] [--json]

In the controlled environment (offline): generates the root key inside the token (sensitive,
never extractable, sign-only), self-signs the root certificate (path length 1, keyCertSign and
cRLSign, SKI), signs the root's first CRL (empty) and starts the ceremony transcript. Writes
root-ca.pem, root-ca.crl and ceremony-transcript.jsonl into --out and prints the root's SHA-256
fingerprint: publish it out of band. Refuses a token that already holds a key under the root's
label (ROOT_KEY_EXISTS) and one that is a line token (LINE_TOKEN: named as hsm.tokenLabel by
--config, or holding a line key).

Options:
  --subject "..."      the root's subject, RFC 4514 (e.g. "CN=Acme Root CA, O=Acme") (required)
  --validity-years N   the root certificate's lifetime (default 30)
  --out DIR            the ceremony folder (default .)
  --crl-url URL        where the root's CRL will be published; sign-csr writes it into every issuing
                       CA certificate as its CRL distribution point (e.g. http://pki.example/crl/root.crl)
  --crl-days N         the root CRL's validity (default 365: re-sign it yearly with 'keyline ceremony crl')
  --curve C            P-256 (default) or P-384
  --config FILE        a line's keyline.json: its hsm.tokenLabel is refused as the root token
  --json               print a JSON summary
${ROOT_TOKEN_USAGE}
${WITNESS_USAGE}`;

const REVOKE_USAGE = `Usage: keyline ceremony revoke-issuing --cert issuing-ca.pem --reason keyCompromise --token LABEL --pin-file F
                                       --witness NAME --witness NAME [--module PATH] [--out DIR] [--crl-days N] [--json]

In the controlled environment: signs the next root CRL (an ARL) with the issuing CA certificate
added (CRL Number one up, next update --crl-days ahead), writes it to <out>/root-ca.crl (and
root-ca-<number>.crl) and records the step in the transcript. Import it on the server with
'keyline ca import-crl --crl root-ca.crl': the server publishes it at the CDP of the issuing CA
certificates, refuses to issue with the revoked CA, and 'openssl verify -crl_check_all' then
refuses every certificate under it.

Options:
  --cert FILE          the issuing CA certificate to revoke (required)
  --reason R           ${REVOCATION_REASONS.join(', ')} (required)
${FOLDER_USAGE}
${ROOT_TOKEN_USAGE}
${WITNESS_USAGE}`;

const CRL_USAGE = `Usage: keyline ceremony crl --token LABEL --pin-file F --witness NAME --witness NAME [--module PATH] [--out DIR] [--crl-days N] [--json]

In the controlled environment, before the root CRL's next update (yearly): re-signs it with the
same entries, the CRL Number one up and a new next update, writes <out>/root-ca.crl and records
the step in the transcript. Import it on the server with 'keyline ca import-crl'; the server
warns (log, /health, /metrics) from ca.rootCrlWarningDays (30) before the next update.

Options:
${FOLDER_USAGE}
${ROOT_TOKEN_USAGE}
${WITNESS_USAGE}`;

const FOLDER_OPTIONS = { out: { type: 'string' }, 'root-cert': { type: 'string' }, transcript: { type: 'string' }, 'crl-days': { type: 'string' }, json: { type: 'boolean' } } as const;
const WITNESS_OPTIONS = { witness: { type: 'string', multiple: true }, 'min-witnesses': { type: 'string' } } as const;

type TokenValues = { module?: string | undefined; token?: string | undefined; 'pin-file'?: string | undefined; 'softhsm-conf'?: string | undefined; 'key-label'?: string | undefined };

/** The root token options from parsed flags; --token and --pin-file are required. */
function tokenOptions(v: TokenValues, usage: string): RootTokenOptions {
  if (!v.token) throw new UsageError(`--token is required\n\n${usage}`);
  if (!v['pin-file']) throw new UsageError(`--pin-file is required\n\n${usage}`);
  return { module: v.module, softhsmConf: v['softhsm-conf'], token: v.token, pinFile: v['pin-file'], keyLabel: v['key-label'] };
}

/** `keyline ceremony root`. */
export async function rootStep(argv: string[]): Promise<number> {
  const args = parseCommand(argv, {
    usage: ROOT_USAGE,
    options: { ...ROOT_TOKEN_OPTIONS, ...WITNESS_OPTIONS, ...FOLDER_OPTIONS, subject: { type: 'string' }, 'validity-years': { type: 'string' }, 'crl-url': { type: 'string' }, curve: { type: 'string' }, config: { type: 'string' } },
  });
  if (!args) return 0;
  const v = args.values;
  const token = tokenOptions(v, ROOT_USAGE);
  if (!v.subject) throw new UsageError(`--subject is required\n\n${ROOT_USAGE}`);
  const curve = v.curve ?? 'P-256';
  if (curve !== 'P-256' && curve !== 'P-384') throw new UsageError(`--curve must be P-256 or P-384, got '${curve}'`);
  if (v['crl-url'] && !/^https?:\/\/./.test(v['crl-url'])) throw new UsageError(`--crl-url must be an http(s) URL, got '${v['crl-url']}'`);
  const witnesses = requireWitnesses(v.witness, intFlag('min-witnesses', v['min-witnesses'], 2, 0, 16));
  const lineTokens = v.config ? [loadConfigWithoutSecrets(v.config).hsm.tokenLabel] : [];
  const r = await runRootCeremony({
    token, subject: v.subject, validityYears: intFlag('validity-years', v['validity-years'], 30, 1, 100), curve: curve as KeyCurve,
    out: resolve(v.out ?? '.'), witnesses, actor: actorName(), crlUrl: v['crl-url'], crlDays: intFlag('crl-days', v['crl-days'], 365, 1, 3650), lineTokens,
  });
  if (v.json) {
    process.stdout.write(JSON.stringify({ ...r, witnesses }, null, 2) + '\n');
  } else {
    process.stdout.write(`ceremony: root key ${r.keyRef} generated in the token\n`);
    process.stdout.write(`ceremony: root certificate '${r.subject}' serial ${r.serial}, valid to ${r.notAfter}: ${r.rootCertPath}\n`);
    process.stdout.write(`ceremony: root CRL number 1 (empty), next update ${r.crlNextUpdate}: ${r.rootCrlPath}\n`);
    process.stdout.write(`ceremony: transcript started: ${r.transcriptPath} (witnesses: ${witnesses.join(', ')})\n`);
    process.stdout.write(`SHA-256 fingerprint of the root certificate (publish it out of band):\n${r.fingerprintSha256}\n`);
  }
  return 0;
}

/** `keyline ceremony revoke-issuing`. */
export async function revokeIssuingStep(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: REVOKE_USAGE, options: { ...ROOT_TOKEN_OPTIONS, ...WITNESS_OPTIONS, ...FOLDER_OPTIONS, cert: { type: 'string' }, reason: { type: 'string' } } });
  if (!args) return 0;
  const v = args.values;
  const token = tokenOptions(v, REVOKE_USAGE);
  if (!v.cert) throw new UsageError(`--cert is required\n\n${REVOKE_USAGE}`);
  const reason = REVOCATION_REASONS.find((r) => r === v.reason);
  if (!reason) throw new UsageError(`--reason must be one of ${REVOCATION_REASONS.join(', ')}, got '${v.reason ?? ''}'`);
  const witnesses = requireWitnesses(v.witness, intFlag('min-witnesses', v['min-witnesses'], 2, 0, 16));
  const r = await revokeIssuingCa({ ...folder(v), token, witnesses, actor: actorName(), issuingCertPath: resolve(v.cert), reason });
  print(v.json, { ...r, witnesses }, r.alreadyRevoked ? `issuing CA serial ${r.serial} was already on the root CRL (kept its first reason and time)` : `issuing CA serial ${r.serial} revoked (${reason})`, r);
  return 0;
}

/** `keyline ceremony crl`. */
export async function crlStep(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: CRL_USAGE, options: { ...ROOT_TOKEN_OPTIONS, ...WITNESS_OPTIONS, ...FOLDER_OPTIONS } });
  if (!args) return 0;
  const v = args.values;
  const token = tokenOptions(v, CRL_USAGE);
  const witnesses = requireWitnesses(v.witness, intFlag('min-witnesses', v['min-witnesses'], 2, 0, 16));
  const r = await resignRootCrl({ ...folder(v), token, witnesses, actor: actorName() });
  print(v.json, { ...r, witnesses }, `root CRL re-signed with ${r.revoked.length} revoked issuing CA(s)`, r);
  return 0;
}

function folder(v: { out?: string | undefined; 'root-cert'?: string | undefined; transcript?: string | undefined; 'crl-days'?: string | undefined }) {
  return {
    dir: resolve(v.out ?? '.'), rootCertPath: v['root-cert'] && resolve(v['root-cert']), transcriptPath: v.transcript && resolve(v.transcript),
    crlDays: intFlag('crl-days', v['crl-days'], 365, 1, 3650),
  };
}

function print(json: boolean | undefined, summary: object, what: string, r: RootCrlStepResult): void {
  if (json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  process.stdout.write(`ceremony: ${what}\n`);
  process.stdout.write(`ceremony: root CRL number ${r.number}, next update ${r.nextUpdate}: ${r.crlPath}\n`);
  process.stdout.write(`ceremony: ${r.transcriptHash ? `transcript extended (entry ${r.transcriptHash})` : 'no transcript in this folder (development PKI): nothing recorded'}; on the server: keyline ca import-crl --crl ${r.crlPath}\n`);
}
