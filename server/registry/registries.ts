/**
 * The registry kinds this build knows and the factory that turns keyline.json's `registries`
 * into Registry objects. Each section is validated by the kind its `type` names (every problem
 * reported at once, as loadConfig does); 'self' is always present and needs no section. Secrets
 * are resolved here through config.ts resolveSecret, handed to the kind and never logged.
 */
import { createHash } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { toPem } from '../../common/pem.js';
import { authorityKeyIdOf } from '../ca/key-id.js';
import { resolveSecret, type Config } from '../config.js';
import type { Store } from '../store/store.js';
import type { Registry } from './registry.js';
import type { RegistryContext, RegistryKind, RegistrySetupContext } from './registry-kind.js';
import { awsIotKind } from './aws-iot-kind.js';
import { azureDpsKind } from './azure-dps-kind.js';
import { createSelfRegistry, SELF_REGISTRY } from './self-registry.js';

/** Any registry kind (the section type is checked by the kind's own schema). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRegistryKind = RegistryKind<any>;

/**
 * Every registry kind this build ships (a section's `type` selects one). Each cloud's kind lives
 * in its own file; adding a cloud means adding it here and nowhere else.
 */
export const REGISTRY_KINDS: readonly AnyRegistryKind[] = [awsIotKind, azureDpsKind];

/** One validated `registries.<name>` section and the kind that owns it. */
export interface RegistrySection {
  name: string;
  kind: AnyRegistryKind;
  cfg: { type: string; mode?: string } & Record<string, unknown>;
}

/** Validates every configured section against its kind; throws CONFIG_INVALID listing all problems. */
export function parseRegistrySections(config: Pick<Config, 'registries' | 'file'>, kinds: readonly AnyRegistryKind[] = REGISTRY_KINDS): RegistrySection[] {
  const byType = new Map(kinds.map((k) => [k.type as string, k]));
  const problems: string[] = [];
  const out: RegistrySection[] = [];
  for (const [name, raw] of Object.entries(config.registries)) {
    const kind = byType.get(raw.type);
    if (!kind) {
      const known = [...byType.keys()].map((k) => `'${k}'`).join(', ') || 'none in this build';
      problems.push(`  registries.${name}.type: unknown registry type '${raw.type}' (known: ${known})`);
      continue;
    }
    const parsed = kind.configSchema.safeParse(raw);
    if (!parsed.success) {
      for (const i of parsed.error.issues) problems.push(`  registries.${name}${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`);
      continue;
    }
    out.push({ name, kind, cfg: parsed.data as RegistrySection['cfg'] });
  }
  if (problems.length) throw new KeylineError('CONFIG_INVALID', `invalid config ${config.file}:\n${problems.join('\n')}`);
  return out;
}

/** What createRegistries needs besides the config. */
export interface RegistriesDeps {
  store: Store;
  /** The first issuing CA keyline.json lists (PEM). */
  issuingCaPem: string;
  /**
   * The loaded issuing CAs (main.ts passes its IssuingCas, which also holds a CA loaded after
   * start): the one that signed a unit's certificate, by its AKI. Without it (a single CA, setup)
   * every certificate is answered issuingCaPem.
   */
  issuingCas?: { forCertificate(certificateDer: Uint8Array): { der: Uint8Array } | undefined };
  log: Logger;
  /** Environment for {env} secret references (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  /** Registry kinds (tests inject fakes); defaults to every kind this build ships. */
  kinds?: readonly AnyRegistryKind[];
}

/** The context a kind's factory receives for section `name`. */
export function registryContext(config: Pick<Config, 'baseDir'>, name: string, d: Omit<RegistriesDeps, 'store' | 'kinds'>): RegistryContext {
  const env = d.env ?? process.env;
  const log = d.log.child({ registry: name });
  return {
    secret: (ref, field) => resolveSecret(ref, config.baseDir, env, `registries.${name}.${field}`),
    issuingCaPem: d.issuingCaPem,
    issuingCaPemFor: (der) => {
      if (!d.issuingCas) return d.issuingCaPem;
      const ca = d.issuingCas.forCertificate(der);
      if (ca) return toPem(ca.der);
      // A CA since dropped from keyline.json, say: the first CA is the best guess, and the cloud
      // refuses the unit if it is wrong; the warning says why.
      log.warn({ fingerprint: createHash('sha256').update(der).digest('hex'), authorityKeyId: authorityKeyIdOf(der) },
        'certificate names none of the loaded issuing CAs: sent with the first one');
      return d.issuingCaPem;
    },
    log,
  };
}

/** Builds 'self' plus every configured registry, in config order. */
export function createRegistries(config: Pick<Config, 'registries' | 'file' | 'baseDir'>, d: RegistriesDeps): Registry[] {
  const sections = parseRegistrySections(config, d.kinds);
  const registries: Registry[] = [createSelfRegistry({ store: d.store })];
  for (const s of sections) {
    const registry = s.kind.create(s.name, s.cfg, registryContext(config, s.name, d));
    if (registry.name !== s.name) {
      throw new KeylineError('CONFIG_INVALID', `registries.${s.name}: kind '${s.kind.type}' built a registry named '${registry.name}'`);
    }
    registries.push(registry);
  }
  return registries;
}

/** The names work orders may use: 'self' and every configured section. */
export function registryNames(config: Pick<Config, 'registries'>): string[] {
  return [SELF_REGISTRY, ...Object.keys(config.registries)];
}

/** The validated section `--registry NAME` names: VALIDATION_FAILED for 'self', UNKNOWN_REGISTRY when not configured. */
export function registrySection(config: Pick<Config, 'registries' | 'file'>, name: string, kinds?: readonly AnyRegistryKind[]): RegistrySection {
  if (name === SELF_REGISTRY) throw new KeylineError('VALIDATION_FAILED', `--registry: 'self' needs no setup`);
  const section = parseRegistrySections(config, kinds).find((s) => s.name === name);
  if (!section) throw new KeylineError('UNKNOWN_REGISTRY', `--registry: '${name}' is not configured (configured: ${registryNames(config).join(', ')})`);
  return section;
}

/** Runs the CA-level setup of registry `name` for one issuing CA (`keyline registry setup` runs it per CA); returns its summary. */
export async function setupRegistry(config: Pick<Config, 'registries' | 'file' | 'baseDir'>, name: string,
  ctx: Omit<RegistrySetupContext, 'secret' | 'log' | 'issuingCaPemFor'> & { log: Logger; env?: NodeJS.ProcessEnv; kinds?: readonly AnyRegistryKind[] }): Promise<Record<string, unknown>> {
  const section = registrySection(config, name, ctx.kinds);
  if (!section.kind.setup) {
    throw new KeylineError('NOT_SUPPORTED', `registry '${name}' (type ${section.kind.type}) has no CA-level setup`);
  }
  const base = registryContext(config, name, { issuingCaPem: ctx.issuingCaPem, log: ctx.log, ...(ctx.env ? { env: ctx.env } : {}) });
  return section.kind.setup(name, section.cfg, {
    ...base, issuingSigner: ctx.issuingSigner, issuingCaDer: ctx.issuingCaDer, progress: ctx.progress, ...(ctx.issuingCasDer ? { issuingCasDer: ctx.issuingCasDer } : {}),
    ...(ctx.verificationCode !== undefined ? { verificationCode: ctx.verificationCode } : {}),
    ...(ctx.setupCaKeyIds ? { setupCaKeyIds: ctx.setupCaKeyIds } : {}),
    ...(ctx.recordVerificationCertificate ? { recordVerificationCertificate: ctx.recordVerificationCertificate } : {}),
  });
}
