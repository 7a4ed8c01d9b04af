/**
 * `keyline ceremony root`: the production root, made once, offline, in its own token. The key is
 * generated inside the token (sensitive, never extractable, sign-only), the root certificate is
 * self-signed (path length 1: root → issuing CA → devices; keyCertSign + cRLSign; SKI), the
 * root's first CRL (empty) is signed so relying parties can check issuing CAs from day one, and
 * the transcript starts with an entry the root key signs. Refuses a token that already holds a
 * key under the root's label, and a token that is, or looks like, a line token: a root key on the
 * line is the failure the whole two-token design exists to prevent.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { KeylineError } from '../../common/errors.js';
import type { KeyCurve, KeyStore } from '../hsm/key-store.js';
import { isSelfSigned } from '../ca/chain.js';
import { createRootCa } from '../ca/profiles.js';
import { certFacts, sha256Hex } from './ceremony-event.js';
import { ceremonyPaths, certPem, fingerprintColons, writeRootCrl } from './ceremony-folder.js';
import { signRootCrl } from './root-crl.js';
import { openRootToken, type RootTokenOptions } from './root-token.js';
import { appendTranscript } from './transcript.js';

/** Labels of the keys a line token holds (the issuing CA's, rotated ones, the OCSP responder, the config signer). */
const LINE_KEY_LABEL = /^(issuing-ca|ocsp-responder|config-signer)/;

/** What `ceremony root` needs. */
export interface RootCeremonyOptions {
  token: RootTokenOptions;
  /** RFC 4514 subject, e.g. "CN=Acme Root CA, O=Acme". */
  subject: string;
  validityYears?: number;
  curve?: KeyCurve;
  /** The ceremony folder (root-ca.pem, root-ca.crl, ceremony-transcript.jsonl). */
  out: string;
  /** Distinct witness names, already checked against the minimum. */
  witnesses: string[];
  actor: string;
  /** Where the root's CRL will be published (the CDP sign-csr writes into issuing CA certificates). */
  crlUrl?: string | undefined;
  /** thisUpdate → nextUpdate of the root CRL, days (default 365: re-signed yearly by `ceremony crl`). */
  crlDays?: number;
  /** Token labels configured as line tokens (hsm.tokenLabel of a keyline.json): refused. */
  lineTokens?: string[];
  now?: Date;
}

/** What the root ceremony made. */
export interface RootCeremonyResult {
  rootCertPath: string;
  rootCrlPath: string;
  transcriptPath: string;
  keyRef: string;
  subject: string;
  serial: string;
  notAfter: string;
  /** SHA-256 of the root certificate, AB:CD:... (publish it out of band). */
  fingerprintSha256: string;
  crlNumber: number;
  crlNextUpdate: string;
  transcriptHash: string;
}

/** Runs the root ceremony; see the file comment for what it refuses. */
export async function runRootCeremony(o: RootCeremonyOptions): Promise<RootCeremonyResult> {
  const now = o.now ?? new Date();
  const paths = ceremonyPaths(o.out);
  for (const f of [paths.rootCert, paths.transcript]) {
    if (existsSync(f)) throw new KeylineError('PKI_EXISTS', `${f} exists: a root was already made in ${o.out}; use another --out folder`, { detail: { file: f } });
  }
  if (o.lineTokens?.includes(o.token.token)) {
    throw new KeylineError('LINE_TOKEN', `--token '${o.token.token}' is configured as the line token (hsm.tokenLabel); the root key needs a token of its own`, { detail: { token: o.token.token } });
  }
  const token = openRootToken(o.token);
  try {
    await refuseUnfitToken(token.store, o.token.token, token.keyLabel);
    const keyRef = await token.store.generateKeyPair({ label: token.keyLabel, curve: o.curve ?? 'P-256' });
    const signer = await token.store.getSigner(keyRef);
    const cert = await createRootCa({ signer, org: '', subject: o.subject, pathLength: 1, years: o.validityYears ?? 30, now });
    if (!isSelfSigned(cert)) throw new KeylineError('CHAIN_INVALID', `root certificate '${cert.subject}' does not verify with its own key`);
    const crl = await signRootCrl({ signer, root: cert, number: 1, revoked: [], now, validityDays: o.crlDays ?? 365 });
    mkdirSync(o.out, { recursive: true });
    writeFileSync(paths.rootCert, certPem(cert));
    const rootCrlPath = writeRootCrl(o.out, 1, crl.der);
    const entry = await appendTranscript(paths.transcript, {
      step: 'root', actor: o.actor, witnesses: o.witnesses, subject: cert.serialNumber, at: now,
      detail: {
        token: o.token.token, keyRef, curve: signer.curve, spkiSha256: sha256Hex(await signer.publicKeySpki()),
        certificate: certFacts(cert), rootCertPem: certPem(cert), ...(o.crlUrl ? { crlUrl: o.crlUrl } : {}), crl: crl.facts,
      },
    }, signer);
    return {
      rootCertPath: paths.rootCert, rootCrlPath, transcriptPath: paths.transcript, keyRef, subject: cert.subject, serial: cert.serialNumber,
      notAfter: cert.notAfter.toISOString(), fingerprintSha256: fingerprintColons(new Uint8Array(cert.rawData)),
      crlNumber: 1, crlNextUpdate: crl.facts.nextUpdate, transcriptHash: entry.hash,
    };
  } finally {
    await token.store.close();
  }
}

/**
 * ROOT_KEY_EXISTS: a private key already carries the root's label (a second root would make the
 * reference ambiguous, and the first may be the real one). LINE_TOKEN: the token holds keys only
 * a line token has.
 */
async function refuseUnfitToken(store: KeyStore, tokenLabel: string, keyLabel: string): Promise<void> {
  const keys = await store.listPrivateKeys();
  const taken = keys.find((k) => k.label === keyLabel);
  if (taken) throw new KeylineError('ROOT_KEY_EXISTS', `token '${tokenLabel}' already holds a private key labelled '${keyLabel}' (id ${taken.idHex}); a root is made once, in an empty token`, { detail: { token: tokenLabel, label: keyLabel } });
  const line = keys.find((k) => LINE_KEY_LABEL.test(k.label));
  if (line) throw new KeylineError('LINE_TOKEN', `token '${tokenLabel}' holds '${line.label}', a line token's key; the root key needs a token of its own`, { detail: { token: tokenLabel, label: line.label } });
}

