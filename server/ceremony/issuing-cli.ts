/**
 * `keyline ceremony csr` (on the line: the issuing CA key in the line token, its CSR out; with
 * --next a second key beside the current one, for a rotation) and `keyline ceremony sign-csr`
 * (in the controlled environment: the root signs it into the issuing CA certificate, with the
 * root's CRL as distribution point, and the step goes into the ceremony transcript).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KeylineError } from '../../common/errors.js';
import { intFlag, parseCommand, UsageError } from '../../common/cli.js';
import { fromPem, toPem } from '../../common/pem.js';
import { issuingCasOf, loadConfig } from '../config.js';
import { toCert } from '../ca/chain.js';
import { caKeyId } from '../ca/key-id.js';
import { openKeyStore } from '../hsm/open-key-store.js';
import { formatPkcs11Uri } from '../hsm/pkcs11-uri.js';
import type { CeremonyEvent } from './ceremony-event.js';
import { actorName, CEREMONY_FILES, loadVerifiedTranscript, readRootCert } from './ceremony-folder.js';
import { appendJsonl, makeIssuingCsr, nextIssuingLabel, readOption, recordSignCsr, signIssuingCsrCert } from './sign-csr.js';
import { requireWitnesses } from './transcript.js';

const CSR_USAGE = `Usage: keyline ceremony csr --config keyline.json [--next [--label LABEL]] [--org NAME] [--out FILE] [--json]

On the line: generates the issuing CA key in the line token (unless it exists) and writes its
PKCS#10 request (PEM). The PIN comes from the config's hsm.pin reference.

Options:
  --config FILE   keyline.json of the line
  --next          a new issuing CA key beside the current one (CA rotation): labelled issuing-ca-N,
                  N one above the highest in the token; prints the ca.issuing entry to add after
                  sign-csr (default out: <label>.csr)
  --label LABEL   the new key's label with --next
  --org NAME      O= of the request (default: the current issuing CA's, else "Keyline")
  --out FILE      where to write the request (default issuing-ca.csr)
  --json          print a JSON summary`;

const SIGN_USAGE = `Usage: keyline ceremony sign-csr --csr FILE --root-cert root-ca.pem --root-key PKCS11_URI --pin-file FILE
                                [--softhsm-conf FILE] [--module PATH] [--org NAME (default: the CSR's O)] [--out issuing-ca.pem]
                                [--crl-url URL] [--transcript FILE] [--witness NAME]... [--min-witnesses N] [--json]

Signs an issuing CA request with the root key (in its own token; the PIN is read from --pin-file,
never from the command line). Writes the issuing CA certificate and appends audit events to
<out>.audit.jsonl. With a ceremony transcript (--transcript, or ceremony-transcript.jsonl beside
--root-cert: 'keyline ceremony root' starts one) the step is appended to it, signed by the root,
with its witnesses (at least --min-witnesses, default 2), and the certificate names the root's
CRL (--crl-url, default the one given to 'ceremony root') as its CRL distribution point.`;

/** `keyline ceremony csr`. */
export async function csrStep(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: CSR_USAGE, options: { config: { type: 'string' }, next: { type: 'boolean' }, label: { type: 'string' }, org: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } } });
  if (!args) return 0;
  const v = args.values;
  if (!v.config) throw new UsageError(`--config is required\n\n${CSR_USAGE}`);
  if (v.label && !v.next) throw new UsageError('--label goes with --next');
  const { config, secrets } = loadConfig(v.config);
  const current = issuingCasOf(config);
  const events: CeremonyEvent[] = [];
  const store = openKeyStore(config.hsm, secrets.hsmPin);
  let keyRef: string;
  let out: string;
  try {
    const label = v.next ? v.label ?? (await nextIssuingLabel(store)) : undefined;
    keyRef = label ? formatPkcs11Uri({ token: config.hsm.tokenLabel, object: label }) : current[0]!.key;
    if (label && current.some((c) => c.key === keyRef)) throw new KeylineError('HSM_KEY_EXISTS', `--label ${label}: keyline.json already names ${keyRef}`);
    const org = v.org ?? currentOrg(current[0]!.cert) ?? 'Keyline';
    const pem = await makeIssuingCsr({ lineStore: store, keyRef, org, record: async (e) => void events.push(e) });
    out = resolve(v.out ?? (label ? `${label}.csr` : 'issuing-ca.csr'));
    writeFileSync(out, pem);
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
  const label = /object=([^;?]+)/.exec(keyRef)![1]!;
  // What keyline.json gains after sign-csr: each CA its own CRL URL beside the first's.
  const entry = v.next ? { cert: `${label}.pem`, key: keyRef, crlUrl: new URL(`${label}.crl`, config.ca.crlUrl).toString() } : undefined;
  if (v.json) {
    process.stdout.write(JSON.stringify({ csr: out, keyRef, ...(entry ? { issuingEntry: entry } : {}) }, null, 2) + '\n');
  } else {
    process.stdout.write(`ceremony: CSR for ${keyRef} written to ${out}\n`);
    if (entry) {
      process.stdout.write(`ceremony: next: sign it in the controlled environment (keyline ceremony sign-csr --csr ${out} ... --out ${entry.cert}),\n`);
      process.stdout.write(`ceremony: then add to "ca.issuing" in keyline.json, after the current CA: ${JSON.stringify(entry)}\n`);
      process.stdout.write('ceremony: and switch issuance with: keyline ca activate --next [--at TIME]\n');
    }
  }
  return 0;
}

/** The O= of the current issuing CA certificate, when it can be read. */
function currentOrg(certPath: string): string | undefined {
  try {
    return toCert(fromPem(readOption(certPath, 'ca.issuingCert'))).subjectName.getField('O')[0];
  } catch {
    return undefined;
  }
}

/** `keyline ceremony sign-csr`. */
export async function signCsrStep(argv: string[]): Promise<number> {
  const args = parseCommand(argv, {
    usage: SIGN_USAGE,
    options: {
      csr: { type: 'string' }, 'root-cert': { type: 'string' }, 'root-key': { type: 'string' }, 'pin-file': { type: 'string' },
      'softhsm-conf': { type: 'string' }, module: { type: 'string' }, org: { type: 'string' }, out: { type: 'string' },
      'crl-url': { type: 'string' }, transcript: { type: 'string' }, witness: { type: 'string', multiple: true }, 'min-witnesses': { type: 'string' }, json: { type: 'boolean' },
    },
  });
  if (!args) return 0;
  const v = args.values;
  for (const req of ['csr', 'root-cert', 'root-key', 'pin-file'] as const) if (!v[req]) throw new UsageError(`--${req} is required\n\n${SIGN_USAGE}`);
  const rootKey = v['root-key']!;
  const token = /(?:^pkcs11:|;)token=([^;?]+)/.exec(rootKey)?.[1];
  if (!token) throw new UsageError(`--root-key must name its token (pkcs11:token=...;object=...), got '${rootKey}'`);
  const minWitnesses = intFlag('min-witnesses', v['min-witnesses'], 2, 0, 16);
  // A production ceremony has a transcript beside the root certificate; then every step is witnessed and recorded.
  const besideRoot = join(dirname(resolve(v['root-cert']!)), CEREMONY_FILES.transcript);
  const transcriptPath = v.transcript ? resolve(v.transcript) : existsSync(besideRoot) ? besideRoot : undefined;
  const root = readRootCert(resolve(v['root-cert']!));
  const entries = transcriptPath ? loadVerifiedTranscript(transcriptPath, root) : [];
  const witnesses = transcriptPath ? requireWitnesses(v.witness, minWitnesses) : (v.witness ?? []);
  const crlUrl = v['crl-url'] ?? (entries[0]?.detail.crlUrl as string | undefined);
  if (transcriptPath && !crlUrl) throw new UsageError('--crl-url is required: the root ceremony recorded no CRL URL, and an issuing CA certificate must name where the root\'s CRL is published');
  const pin = readOption(v['pin-file']!, '--pin-file').trim();
  const out = resolve(v.out ?? 'issuing-ca.pem');
  const events: CeremonyEvent[] = [];
  const rootStore = openKeyStore({ module: v.module, softhsmConf: v['softhsm-conf'] && resolve(v['softhsm-conf']), tokenLabel: decodeURIComponent(token) }, pin, { sessions: 1 });
  let hash: string | undefined;
  let keyId: string;
  try {
    const csrPem = readOption(v.csr!, '--csr');
    const { issuing, rootSigner } = await signIssuingCsrCert({
      rootStore, rootKeyRef: rootKey, rootCertPem: toPem(new Uint8Array(root.rawData)), csrPem, org: v.org, crlUrl, record: async (e) => void events.push(e),
    });
    keyId = caKeyId(issuing);
    writeFileSync(out, toPem(new Uint8Array(issuing.rawData)));
    if (transcriptPath) hash = (await recordSignCsr({ transcriptPath, issuing, csrPem, crlUrl, witnesses, actor: actorName(), rootSigner })).hash;
  } finally {
    await rootStore.close();
  }
  appendJsonl(`${out}.audit.jsonl`, events);
  if (v.json) {
    process.stdout.write(JSON.stringify({ certificate: out, keyId, crlUrl: crlUrl ?? null, transcript: transcriptPath ?? null, transcriptHash: hash ?? null, auditEvents: `${out}.audit.jsonl` }, null, 2) + '\n');
  } else {
    process.stdout.write(`ceremony: issuing CA certificate written to ${out} (key id ${keyId}); audit events in ${out}.audit.jsonl\n`);
    if (transcriptPath) process.stdout.write(`ceremony: transcript ${transcriptPath} extended (witnesses: ${witnesses.join(', ')}; entry ${hash})\n`);
  }
  return 0;
}
