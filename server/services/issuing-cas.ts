/**
 * The issuing CAs one process serves, and which of them issues (issue 19). Which CA issues is a
 * runtime fact read from the store (`keyline ca activate` writes a row; every process and
 * replica polls it, ca-watcher.ts), never a restart: the answer is computed by the pure rule of
 * ca-activation.ts. The root's newest CRL is read the same way; a CA it lists never issues again
 * (CA_REVOKED). Every CA stays loaded for CRL, OCSP and the chain of what it issued. A CA named
 * by an activation but not loaded yet is loaded on demand through `load` (re-reading
 * keyline.json, with the start-up guards), so adding a CA needs no restart either.
 */
import { KeylineError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import type * as x509 from '../../common/x509.js';
import { toPem } from '../../common/pem.js';
import type { DeviceIssuer } from '../ca/device-issuer.js';
import { createTemplateDeviceIssuer } from '../ca/template-device-issuer.js';
import { createDerDeviceIssuer } from '../ca/der-device-issuer.js';
import { createChipDeviceIssuer } from '../ca/chip-device-issuer.js';
import { parseCrl, type CrlInfo, type CrlInfoEntry } from '../ca/crl-info.js';
import { authorityKeyIdOf, caKeyId } from '../ca/key-id.js';
import type { Signer } from '../hsm/key-store.js';
import type { CaActivationRecord, Store } from '../store/store.js';
import { activationAt } from './ca-activation.js';
import { caStatus, type CaStatusReport } from './ca-status.js';

/** One issuing CA as a process holds it. */
export interface LoadedCa {
  keyId: string;
  cert: x509.X509Certificate;
  der: Uint8Array;
  /** The CA then the root, PEM: returned with every certificate this CA issued. */
  chainPem: string;
  signer: Signer;
  /** Its device certificate issuer (per chip: the ATECC608's DER template, the SE050's plain DER). */
  issuer: DeviceIssuer;
  /** Its CRL's URL. */
  crlUrl: string;
}

/** A LoadedCa from an opened CA key and certificate: its device issuer (DER template) and chain. */
export function loadedCaOf(o: { keyId: string; signer: Signer; cert: x509.X509Certificate; der: Uint8Array; crlUrl: string }, t: { rootDer: Uint8Array; ocspUrl: string; validityYears: number }): LoadedCa {
  return {
    keyId: o.keyId, cert: o.cert, der: o.der, signer: o.signer, crlUrl: o.crlUrl, chainPem: toPem(o.der) + toPem(t.rootDer),
    // Each CA's certificates carry its own CRL URL; the OCSP URL is one for all (routed by issuer).
    issuer: createChipDeviceIssuer({
      atecc608: createTemplateDeviceIssuer({ signer: o.signer, issuingCaDer: o.der, crlUrl: o.crlUrl, ocspUrl: t.ocspUrl, validityYears: t.validityYears }),
      se050: createDerDeviceIssuer({ signer: o.signer, issuingCaDer: o.der, crlUrl: o.crlUrl, ocspUrl: t.ocspUrl, validityYears: t.validityYears }),
    }),
  };
}

/** What the set needs. */
export interface IssuingCasDeps {
  root: x509.X509Certificate;
  /** The configured CAs, in keyline.json order (the first issues until an activation says otherwise). */
  cas: LoadedCa[];
  store: Store;
  /** Loads a CA keyline.json lists but this process has not loaded (null when it lists none with that key id). */
  load?: (keyId: string) => Promise<LoadedCa | null>;
  /** Told about each CA loaded after start (to serve its CRL and OCSP). */
  onLoaded?: (ca: LoadedCa) => void;
  thresholdsDays?: readonly number[];
  rootCrlWarningDays?: number;
  clock?: () => Date;
  log?: Logger;
}

/** The root CRL as held: parsed, with its entries by serial. */
interface HeldRootCrl {
  info: CrlInfo;
  revoked: Map<string, CrlInfoEntry>;
}

/** The set of issuing CAs and the store-driven choice among them. */
export class IssuingCas {
  readonly #d: IssuingCasDeps & { clock: () => Date; log: Logger };
  readonly #cas = new Map<string, LoadedCa>();
  readonly #rootKeyId: string;
  #activations: CaActivationRecord[] = [];
  #activationSeq = -1;
  #rootCrl: HeldRootCrl | null = null;
  #activeKeyId: string;
  #missing: string | null = null;

  constructor(deps: IssuingCasDeps) {
    this.#d = { clock: () => new Date(), log: silentLogger, ...deps };
    if (deps.cas.length === 0) throw new KeylineError('CONFIG_INVALID', 'no issuing CA configured');
    for (const ca of deps.cas) this.#cas.set(ca.keyId, ca);
    this.#rootKeyId = caKeyId(deps.root);
    this.#activeKeyId = deps.cas[0]!.keyId;
  }

  /** Every loaded CA, in load order. */
  all(): LoadedCa[] {
    return [...this.#cas.values()];
  }

  /** The CA that issues now (it may be revoked: issuer() refuses then). */
  active(): LoadedCa | undefined {
    return this.#cas.get(this.#activeKeyId);
  }

  /** The loaded CA that signed a certificate (by its AKI), or undefined. */
  forCertificate(der: Uint8Array): LoadedCa | undefined {
    const aki = authorityKeyIdOf(der);
    return aki === null ? undefined : this.#cas.get(aki);
  }

  /** The chain to return with a certificate: its own CA's, or the active CA's for anything else. */
  chainFor(der?: Uint8Array): string {
    return (der && this.forCertificate(der))?.chainPem ?? this.active()?.chainPem ?? this.all()[0]!.chainPem;
  }

  /** The root's newest CRL this process holds (DER and dates), or null. */
  rootCrl(): { der: Buffer; thisUpdate: Date; nextUpdate: Date; number: number } | null {
    const c = this.#rootCrl?.info;
    return c ? { der: Buffer.from(c.der), thisUpdate: c.thisUpdate, nextUpdate: c.nextUpdate ?? c.thisUpdate, number: c.number ?? 0 } : null;
  }

  /** The root CRL's entry for a CA, or null when it is not listed. */
  revocationOf(ca: LoadedCa): CrlInfoEntry | null {
    return this.#rootCrl?.revoked.get(ca.cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, '')) ?? null;
  }

  /**
   * The device issuer every request goes through: it takes the active CA synchronously when a
   * signature starts (a batch signed in one turn of the event loop uses one CA) and refuses with
   * CA_REVOKED when the root's newest CRL lists it, CA_UNKNOWN when this process could not load it.
   */
  issuer(): DeviceIssuer {
    return {
      issue: (req) => {
        const ca = this.active();
        if (!ca) return Promise.reject(new KeylineError('CA_UNKNOWN', `the active issuing CA ${this.#activeKeyId} is not loaded by this process (is it in ca.issuing of keyline.json?)`, { detail: { keyId: this.#activeKeyId } }));
        const revoked = this.revocationOf(ca);
        if (revoked) return Promise.reject(new KeylineError('CA_REVOKED', `issuing CA ${ca.keyId} (serial ${ca.cert.serialNumber}) is revoked by the root CRL (${revoked.reason}); nothing is issued with it`, { detail: { keyId: ca.keyId } }));
        return ca.issuer.issue(req);
      },
    };
  }

  /**
   * Reads the activations and the root CRL when either changed, then decides which CA issues at
   * the clock's time (a scheduled switch happens on the first refresh after its time).
   */
  async refresh(): Promise<void> {
    const { seq, rootCrl } = await this.#d.store.transaction(async (tx) => ({ seq: await tx.ca.lastActivationSeq(), rootCrl: await tx.ca.latestRootCrl() }), { readOnly: true });
    if (seq !== this.#activationSeq) {
      this.#activations = await this.#d.store.transaction((tx) => tx.ca.activations(), { readOnly: true });
      this.#activationSeq = seq;
    }
    if (rootCrl && rootCrl.number !== (this.#rootCrl?.info.number ?? null)) this.#holdRootCrl(rootCrl.der);
    await this.#decide();
  }

  async #decide(): Promise<void> {
    const keyId = activationAt(this.#activations, this.#d.clock()).current?.keyId ?? this.#d.cas[0]!.keyId;
    if (keyId === this.#activeKeyId && this.#cas.has(keyId)) return;
    if (!this.#cas.has(keyId) && !(await this.#loadMissing(keyId))) return;
    const from = this.#activeKeyId;
    this.#activeKeyId = keyId;
    this.#d.log.info({ from, to: keyId }, 'issuing CA switched');
  }

  /** Loads a CA an activation names; false (logged once) when keyline.json does not list it or it fails a guard. */
  async #loadMissing(keyId: string): Promise<boolean> {
    try {
      const ca = await this.#d.load?.(keyId);
      if (!ca || ca.keyId !== keyId) throw new KeylineError('CA_UNKNOWN', `no issuing CA with key id ${keyId} in ca.issuing of keyline.json`);
      this.#cas.set(keyId, ca);
      this.#missing = null;
      this.#d.log.info({ keyId, subject: ca.cert.subject }, 'issuing CA loaded');
      this.#d.onLoaded?.(ca);
      return true;
    } catch (err) {
      if (this.#missing !== keyId) this.#d.log.error({ err, keyId }, 'cannot load the activated issuing CA: this process issues nothing until it can');
      this.#missing = keyId;
      // Issue with nothing rather than the CA the operator switched away from (it may be the reason).
      this.#activeKeyId = keyId;
      return false;
    }
  }

  #holdRootCrl(der: Uint8Array): void {
    const info = parseCrl(der);
    // Imported only after these checks (ca/root-crl-import); checked again: the table is not the root.
    if (!info.signedBy(new Uint8Array(this.#d.root.publicKey.rawData)) || info.authorityKeyIdHex !== this.#rootKeyId) {
      this.#d.log.error({ crlNumber: info.number }, 'stored root CRL is not signed by the root: ignored');
      return;
    }
    this.#rootCrl = { info, revoked: new Map(info.entries().map((e) => [e.serialHex, e])) };
    this.#d.log.info({ crlNumber: info.number, revoked: this.#rootCrl.revoked.size, nextUpdate: info.nextUpdate?.toISOString() }, 'root CRL loaded');
  }

  /** The lifetime report (health, metrics, logs). */
  status(): CaStatusReport {
    const now = this.#d.clock();
    const pending = activationAt(this.#activations, now).pending;
    const c = this.#rootCrl?.info;
    return caStatus({
      root: this.#d.root, rootKeyId: this.#rootKeyId,
      issuing: this.all().map((ca) => ({ keyId: ca.keyId, cert: ca.cert })),
      activeKeyId: this.#activeKeyId, activeLoaded: this.#cas.has(this.#activeKeyId),
      revoked: (serial) => {
        const e = this.#rootCrl?.revoked.get(serial);
        return e ? { reason: e.reason, revokedAt: e.revokedAt.toISOString() } : null;
      },
      rootCrl: c ? { number: c.number ?? 0, thisUpdate: c.thisUpdate, nextUpdate: c.nextUpdate } : null,
      pending: pending ? { keyId: pending.keyId, activateAt: pending.activateAt } : null,
      thresholdsDays: this.#d.thresholdsDays ?? [180, 90, 30], rootCrlWarningDays: this.#d.rootCrlWarningDays ?? 30, now,
    });
  }
}
