/**
 * How a registry type plugs into the server: its config schema (a section of keyline.json's
 * `registries`), a factory, and an optional one-time setup for its CA-level mode (AWS JITP:
 * the issuing CA registered with a provisioning template; Azure DPS: an enrollment group on the
 * issuing CA), run by `keyline registry setup`, and the way out of the cloud for a CA the root
 * revokes later. registries.ts lists the kinds; nothing else knows which clouds exist.
 */
import type { z } from 'zod';
import type { Logger } from '../../common/log.js';
import type { Signer } from '../hsm/key-store.js';
import type { Registry } from './registry.js';

/** A secret given by reference in keyline.json ({env} or {file}), as hsm.pin is. */
export type SecretRef = { env: string } | { file: string };

/** What a registry factory receives besides its own config section. */
export interface RegistryContext {
  /** Resolves a secret reference of this registry's section; `field` names it in errors. */
  secret(ref: SecretRef, field: string): string;
  /** The first issuing CA keyline.json lists (PEM); in a setup context, the CA being set up. */
  issuingCaPem: string;
  /**
   * The issuing CA (PEM) that signed a unit's certificate, by its authority key id: after a
   * rotation (issue 19) units of several CAs are delivered side by side, and a cloud checks that
   * the CA named with a certificate is the one that signed it (AWS RegisterCertificate).
   */
  issuingCaPemFor(certificateDer: Uint8Array): string;
  log: Logger;
}

/** What a CA-level call receives: the context plus the issuing CA it is about. */
export interface RegistryCaContext extends RegistryContext {
  issuingCaDer: Uint8Array;
  /**
   * Every issuing CA keyline.json lists, this one included (issue 19: after a rotation several
   * stand side by side): a cloud object one of them holds is Keyline's own, not a stranger's.
   */
  issuingCasDer?: readonly Uint8Array[];
  /** One line of progress for the operator. */
  progress(message: string): void;
}

/** What a one-time CA-level setup receives: the CA context plus the issuing CA key (in the HSM). */
export interface RegistrySetupContext extends RegistryCaContext {
  /** The issuing CA's signer (AWS's proof of possession: a verification certificate it signs). */
  issuingSigner: Signer;
  /**
   * The proof-of-possession code the operator got for this CA's certificate (`--verification-code`,
   * for clouds that hand it out by hand: DPS). The CLI passes it to one CA only: codes are per CA.
   */
  verificationCode?: string;
  /** Key ids of every CA this run sets up: a one-value setting must not be applied to several. */
  setupCaKeyIds?: readonly string[];
  /**
   * Records a verification certificate the CA key signed (an issuance, for the audit log); called
   * before the certificate leaves the process, and a failure stops the setup.
   */
  recordVerificationCertificate?(pem: string): Promise<void>;
}

/**
 * What taking a revoked issuing CA out of a cloud found and did: 'deactivated' now,
 * 'already-deactivated' (an earlier run, or by hand), or 'not-registered' (the cloud holds nothing
 * of it). `detail` names the cloud object (ids, statuses; never a secret), for --json and the audit log.
 */
export interface CaDeactivation {
  outcome: 'deactivated' | 'already-deactivated' | 'not-registered';
  detail: Record<string, unknown>;
}

/** One registry type. */
export interface RegistryKind<C extends { type: string }> {
  /** The `type` value of its config sections. */
  readonly type: C['type'];
  /** The zod schema of one config section, including `type`. */
  readonly configSchema: z.ZodType<C>;
  /** Builds a registry named `name` from a validated section. */
  create(name: string, cfg: C, ctx: RegistryContext): Registry;
  /** Prepares the CA-level mode in the cloud (idempotent); returns a summary for --json output. */
  setup?(name: string, cfg: C, ctx: RegistrySetupContext): Promise<Record<string, unknown>>;
  /**
   * Whether this section makes the cloud trust the issuing CA itself (AWS: the CA registered in
   * the account; DPS: an enrollment group on it), so that a CA the root revokes must be taken out
   * of it: the clouds check no Keyline CRL.
   */
  trustsIssuingCa?(cfg: C): boolean;
  /**
   * Takes a revoked issuing CA out of the cloud (idempotent, never deletes: the cloud keeps the
   * record); called by `keyline registry setup` for each listed CA the root revoked.
   */
  deactivateCa?(name: string, cfg: C, ctx: RegistryCaContext): Promise<CaDeactivation>;
}
