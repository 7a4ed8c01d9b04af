/**
 * Taking issuing CAs the root has revoked out of the clouds that trust them (AWS IoT: the CA set
 * INACTIVE with auto-registration DISABLE; Azure DPS: its enrollment group disabled). The clouds
 * check no Keyline CRL, so a CA registered before its revocation would otherwise keep admitting
 * whatever its key signs. `keyline registry setup` runs this for every listed CA that is revoked,
 * before setting up the others; `keyline ca import-crl` names the command when a CRL newly revokes
 * a listed CA (caTrustingRegistries). Each change is written to the audit log as
 * 'registry.ca-deactivated', right after the cloud accepted it.
 */
import { KeylineError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { toPem } from '../../common/pem.js';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import { REGISTRY_KINDS, registryContext, registrySection, type AnyRegistryKind } from './registries.js';
import type { CaDeactivation } from './registry-kind.js';

/** The audit action of a deactivation. */
export const CA_DEACTIVATED_ACTION = 'registry.ca-deactivated';

/** A listed issuing CA on the root's CRL. */
export interface RevokedCa {
  keyId: string;
  der: Uint8Array;
  /** The CRL's reason (keyCompromise, ...). */
  revoked: string;
}

/** What was found and done for one revoked CA. */
export type RevokedCaOutcome = CaDeactivation & { keyId: string; revoked: string };

/** What deactivateRevokedCas needs besides the config. */
export interface DeactivationDeps {
  store: Store;
  /** Who runs it, for the audit log (cli:<user>). */
  actor: string;
  log: Logger;
  progress(message: string): void;
  /** Every listed issuing CA (DER), revoked or not. */
  issuingCasDer: readonly Uint8Array[];
  env?: NodeJS.ProcessEnv;
  kinds?: readonly AnyRegistryKind[];
}

/**
 * Takes each of `cas` out of registry `name`, in order; null when that registry does not trust
 * issuing CAs (AWS 'multi-account', DPS 'individual': nothing of the CA is in the cloud). A cloud
 * failure stops the run with its RegistryError (naming the registry and the call); what was
 * deactivated before it is already in the audit log, and a rerun carries on from there.
 */
export async function deactivateRevokedCas(config: Pick<Config, 'registries' | 'file' | 'baseDir'>, name: string, cas: readonly RevokedCa[],
  d: DeactivationDeps): Promise<RevokedCaOutcome[] | null> {
  const section = registrySection(config, name, d.kinds);
  const { kind, cfg } = section;
  if (!kind.deactivateCa || !kind.trustsIssuingCa?.(cfg)) return null;
  const out: RevokedCaOutcome[] = [];
  for (const ca of cas) {
    d.progress(`${name}: issuing CA ${ca.keyId}: revoked by the root (${ca.revoked}): taking it out of the cloud`);
    const ctx = {
      ...registryContext(config, name, { issuingCaPem: toPem(ca.der), log: d.log, ...(d.env ? { env: d.env } : {}) }),
      issuingCaDer: ca.der, issuingCasDer: d.issuingCasDer, progress: (m: string) => d.progress(`  ${m}`),
    };
    const r = await kind.deactivateCa(name, cfg, ctx);
    if (r.outcome === 'deactivated') {
      try {
        await d.store.transaction((tx) => tx.audit.append({
          action: CA_DEACTIVATED_ACTION, actor: d.actor, subject: ca.keyId,
          detail: { ...r.detail, registry: name, keyId: ca.keyId, reason: ca.revoked },
        }));
      } catch (err) {
        throw new KeylineError('STORE_ERROR', `${name}: issuing CA ${ca.keyId} was deactivated in the cloud, but its audit record could not be written`,
          { cause: err, detail: { registry: name, keyId: ca.keyId } });
      }
    }
    out.push({ keyId: ca.keyId, revoked: ca.revoked, ...r });
  }
  return out;
}

/** A registry that trusts the issuing CA itself. */
export interface CaTrustingRegistry {
  name: string;
  type: string;
  mode: string | null;
}

/**
 * The configured registries that trust issuing CAs, read from the raw sections so that a CRL
 * import never fails on them: a section whose own schema refuses it is listed too (it cannot be
 * told apart, and a needless hint costs less than a missing one).
 */
export function caTrustingRegistries(config: Pick<Config, 'registries'>, kinds: readonly AnyRegistryKind[] = REGISTRY_KINDS): CaTrustingRegistry[] {
  const out: CaTrustingRegistry[] = [];
  for (const [name, raw] of Object.entries(config.registries)) {
    const kind = kinds.find((k) => k.type === raw.type);
    if (!kind?.deactivateCa) continue;
    const parsed = kind.configSchema.safeParse(raw);
    const mode = parsed.success ? (parsed.data as { mode?: string }).mode : (raw as { mode?: unknown }).mode;
    if (parsed.success && !kind.trustsIssuingCa?.(parsed.data)) continue;
    out.push({ name, type: raw.type, mode: typeof mode === 'string' ? mode : null });
  }
  return out;
}
