/**
 * The server's configuration: one zod schema, loaded from a JSON file, then KEYLINE_* environment
 * overrides, then defaults, validated at once with every problem reported. The only reader of
 * process.env in the server. Secrets are given by reference and resolved here, never kept in the
 * object that gets logged.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { KeylineError } from '../common/errors.js';
import { DEFAULT_BROKER_LIMITS } from './enroll/broker-limits.js';
import { estConfigSchema } from './est/est-config.js';
import { awsFleetConfigSchema, dpsConfigSchema } from './cloud-enroll/cloud-enroll-config.js';

const secretRef = z.union([z.object({ env: z.string().min(1) }).strict(), z.object({ file: z.string().min(1) }).strict()]);

/** One issuing CA the server serves (issue 19): certificate, key, where its CRL is published, its OCSP responder. */
const issuingCaEntry = z
  .object({
    cert: z.string().min(1),
    /** The CA key, as a pkcs11: URI in the line token. */
    key: z.string().startsWith('pkcs11:'),
    /** Its CRL's URL (the CDP of what it issues); the first CA's defaults to ca.crlUrl. */
    crlUrl: z.url().optional(),
    /** Its delegated OCSP responder (issued by this CA); absent = the CA key answers itself. */
    ocspResponderKey: z.string().startsWith('pkcs11:').optional(),
    ocspResponderCert: z.string().optional(),
  })
  .strict();

/** The keyline.json schema (paths relative to the file's folder). */
export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        /** Station API (HTTPS + mTLS); 0 = any free port. */
        port: z.number().int().min(0).max(65535).default(8443),
        /** Plain-HTTP listener for CRL and OCSP (relying parties fetch these without TLS); 0 = any free port. */
        publicPort: z.number().int().min(0).max(65535).default(8080),
        tlsCert: z.string().default('server.pem'),
        tlsKey: z.string().default('server.key.pem'),
        bodyLimitBytes: z.number().int().positive().default(1024 * 1024),
        /** Open connections each listener (API, public) accepts before closing new ones at once. */
        maxConnections: z.number().int().min(1).max(1_000_000).default(1024),
      })
      .strict()
      .prefault({}),
    hsm: z
      .object({
        /** PKCS#11 module path; auto-detected (SoftHSM2) when absent. */
        module: z.string().optional(),
        /** SoftHSM2's own config file, exported as SOFTHSM2_CONF before the module loads. */
        softhsmConf: z.string().optional(),
        tokenLabel: z.string().min(1),
        pin: secretRef,
        /** The issuing CA key, as a pkcs11: URI (when ca.issuing does not list the CAs). */
        issuingKey: z.string().startsWith('pkcs11:').optional(),
        /** Session pool size; defaults to the number of cores. */
        sessions: z.number().int().min(1).max(64).optional(),
        /** Sign in a thread of its own, off the event loop (server/hsm/thread-signing.ts); false signs in the loop. */
        signerThread: z.boolean().default(true),
      })
      .strict(),
    ca: z
      .object({
        rootCert: z.string().default('root-ca.pem'),
        issuingCert: z.string().default('issuing-ca.pem'),
        /** URLs carried in every device certificate (CRL distribution point, AIA OCSP). */
        crlUrl: z.url(),
        ocspUrl: z.url(),
        /** Device certificate lifetime in whole years; 0 = no well-defined expiration (RFC 5280 §4.1.2.5). */
        deviceValidityYears: z.number().int().min(0).max(31).default(0),
        /** Delegated OCSP responder key (pkcs11: URI in the line token); absent = the issuing CA key signs OCSP itself. */
        ocspResponderKey: z.string().startsWith('pkcs11:').optional(),
        /** The responder's certificate (OCSPSigning, id-pkix-ocsp-nocheck), issued by the issuing CA. */
        ocspResponderCert: z.string().optional(),
        /** CRL thisUpdate → nextUpdate; a new CRL is issued at half of it and on every revocation. */
        crlValidityHours: z.number().int().min(1).max(24 * 30).default(24),
        /** Replicas: the database lease that makes one process the CRL signer lasts this long unrenewed (a dead holder is replaced within it). */
        crlLeaseSeconds: z.number().int().min(1).max(3600).default(30),
        /** OCSP response thisUpdate → nextUpdate; cached responses are re-signed at half of it. */
        ocspValidityMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60),
        /** OCSP response cache bounds per process (least recently used dropped first) and the HSM signing budget (server/ca/REVOCATION.md). */
        ocspCacheMaxEntries: z.number().int().min(1).max(10_000_000).default(100_000),
        ocspCacheMaxBytes: z.number().int().min(64 * 1024).max(16 * 1024 ** 3).default(64 * 1024 * 1024),
        ocspSignsPerSecond: z.number().positive().max(100_000).default(100),
        ocspSignBurst: z.number().int().min(1).max(1_000_000).default(500),
        /**
         * Every issuing CA this server serves, for rotation side by side (issue 19): CRL and OCSP
         * for each, the chain of each certificate's own CA; which one issues is `keyline ca
         * activate` (the first until then). Absent: the one CA of issuingCert + hsm.issuingKey.
         */
        issuing: z.array(issuingCaEntry).min(1).max(16).optional(),
        /** The root's CRL from the ceremony, imported at start-up when newer than the stored one (later ones: keyline ca import-crl). */
        rootCrl: z.string().optional(),
        /** Warn (log, /health, /metrics) when a CA certificate has fewer days than one of these left. */
        lifetimeWarningDays: z.array(z.number().int().min(1).max(36_500)).min(1).max(8).default([180, 90, 30]),
        /** Warn when the root CRL's nextUpdate is this close (re-sign it: keyline ceremony crl). */
        rootCrlWarningDays: z.number().int().min(1).max(365).default(30),
        /**
         * PEM files of the SE050 manufacturer roots that key-origin evidence must chain to (issue 15):
         * NXP's attestation root in production, the dev ceremony's se050-manufacturer-root.pem in
         * development. None: SE050 evidence is recorded as not verifiable, and work orders cannot
         * require attestation.
         */
        manufacturerRoots: z.array(z.string().min(1)).max(16).default([]),
      })
      .strict(),
    store: z.object({ url: z.string().default('sqlite:keyline.db') }).strict().prefault({}),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).strict().prefault({}),
    /** Field enrollment over MQTT (server/enroll/PROTOCOL.md). */
    enroll: z
      .object({
        enabled: z.boolean().default(true),
        /** 'embedded' = an aedes broker in this process (TLS, MQTT 3.1.1); otherwise the mqtts:// URL of an external broker. */
        broker: z.union([z.literal('embedded'), z.string().regex(/^mqtts?:\/\/./, "'embedded' or an mqtt:// / mqtts:// URL")]).default('embedded'),
        /** Listener of the embedded broker; port 0 = any free port (printed as the `mqtt` line). */
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(0),
        /** The service's client identity at an external broker (its certificate CN is the ACL's service user). */
        clientCert: z.string().optional(),
        clientKey: z.string().optional(),
        /** MQTT version towards an external broker (5 gives response topic + correlation data). */
        protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
        /** Group rules, first match wins; a unit matching none gets defaultGroup. */
        groups: z
          .array(z.object({
            match: z.object({ product: z.string().optional(), workOrder: z.string().optional() }).strict(),
            group: z.string().min(1).max(64),
            config: z.record(z.string(), z.unknown()).default({}),
          }).strict())
          .default([]),
        defaultGroup: z.object({ group: z.string().min(1).max(64), config: z.record(z.string(), z.unknown()).default({}) }).strict()
          .default({ group: 'default', config: {} }),
        rateLimitPerMinute: z.number().int().min(1).max(100_000).default(30),
        nonceTtlSeconds: z.number().int().min(5).max(3600).default(60),
        /** Label of the config-signer key in the line token (created with its certificate at start when missing). */
        configSignerLabel: z.string().min(1).default('config-signer'),
        /** Limits of the embedded broker's device listener (server/enroll/broker-limits.ts; Mosquitto: `keyline broker conf`). */
        limits: z
          .object({
            /** Largest MQTT Remaining Length a device packet may declare (the protocol's 16 KiB body + headroom). */
            maxPacketBytes: z.number().int().min(1024).max(268_435_455).default(DEFAULT_BROKER_LIMITS.maxPacketBytes),
            maxConnections: z.number().int().min(1).max(1_000_000).default(DEFAULT_BROKER_LIMITS.maxConnections),
            connectTimeoutSeconds: z.number().int().min(1).max(300).default(DEFAULT_BROKER_LIMITS.connectTimeoutSeconds),
            idleTimeoutSeconds: z.number().int().min(10).max(86_400).default(DEFAULT_BROKER_LIMITS.idleTimeoutSeconds),
            publishesPerMinute: z.number().int().min(1).max(100_000).default(DEFAULT_BROKER_LIMITS.publishesPerMinute),
            publishBurst: z.number().int().min(1).max(10_000).default(DEFAULT_BROKER_LIMITS.publishBurst),
            maxSubscriptions: z.number().int().min(1).max(1000).default(DEFAULT_BROKER_LIMITS.maxSubscriptions),
            queueLimit: z.number().int().min(1).max(1000).default(DEFAULT_BROKER_LIMITS.queueLimit),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * Cloud registries units may be preregistered with, by the name work orders use. Each section's
     * `type` picks its kind (server/registry/registries.ts), which validates the rest at start-up.
     * 'self' (Keyline's own registry) is implicit and reserved.
     */
    registries: z
      .record(
        z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a registry name is 1-64 of a-z 0-9 - (starting with a letter or digit)')
          .refine((n) => n !== 'self', "'self' is Keyline's own registry, always present; choose another name"),
        z.looseObject({ type: z.string().min(1) }),
      )
      .default({}),
    /** The preregistration outbox (server/registry/outbox-worker.ts) and confirm gating. */
    outbox: z
      .object({
        /** How long a worker holds a claimed job before another replica may take it. */
        leaseSeconds: z.number().int().min(1).max(3600).default(60),
        /** Failed attempts (throttling excluded) before a job is parked. */
        maxAttempts: z.number().int().min(1).max(100).default(8),
        /** First retry delay; doubles per attempt up to maxDelayMs. */
        baseDelayMs: z.number().int().min(1).max(3_600_000).default(1000),
        maxDelayMs: z.number().int().min(1).max(86_400_000).default(3_600_000),
        /** How often an awaiting job (AWS JITP, DPS enrollment group) asks whether its device has connected. */
        awaitingCheckSeconds: z.number().int().min(1).max(86_400).default(300),
        /** How long POST /v1/units/:serial/confirm waits for a 'confirmed' work order's registrations. */
        confirmWaitMs: z.number().int().min(0).max(120_000).default(10_000),
        /** Idle poll interval and jobs claimed per round. */
        intervalMs: z.number().int().min(10).max(60_000).default(1000),
        batch: z.number().int().min(1).max(1000).default(20),
      })
      .strict()
      .prefault({}),
    /** EST enrollment (RFC 7030) on the API listener: labels → work orders and profiles (server/est/est-config.ts). */
    est: estConfigSchema.optional(),
    /** AWS IoT Fleet Provisioning's MQTT API for devices (server/cloud-enroll/cloud-enroll-config.ts). */
    awsFleet: awsFleetConfigSchema.optional(),
    /** Azure DPS device registration over MQTT (server/cloud-enroll/cloud-enroll-config.ts). */
    dps: dpsConfigSchema.optional(),
    /** The station's own settings, so `keyline station run --config keyline.json` needs no other flag. */
    station: z
      .object({
        id: z.string().min(1),
        serverUrl: z.url(),
        cert: z.string(),
        key: z.string(),
        journal: z.string().default('station-journal.db'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.ca.issuing && !c.hsm.issuingKey) ctx.addIssue({ code: 'custom', path: ['hsm', 'issuingKey'], message: 'required unless ca.issuing lists the issuing CAs' });
    // Each CA's CRL needs its own URL: two CAs' CRLs at one address would hide one of them.
    const urls = (c.ca.issuing ?? []).map((e, i) => e.crlUrl ?? (i === 0 ? c.ca.crlUrl : undefined));
    urls.forEach((u, i) => {
      if (u === undefined) ctx.addIssue({ code: 'custom', path: ['ca', 'issuing', i, 'crlUrl'], message: 'required for every issuing CA but the first (each CA publishes its own CRL)' });
      else if (urls.indexOf(u) !== i) ctx.addIssue({ code: 'custom', path: ['ca', 'issuing', i, 'crlUrl'], message: `'${u}' is already the CRL URL of ca.issuing[${urls.indexOf(u)}]` });
    });
  });

/** One issuing CA as the server opens it: paths absolute, the CRL URL resolved. */
export interface IssuingCaConfig {
  cert: string;
  key: string;
  crlUrl: string;
  ocspResponderKey?: string | undefined;
  ocspResponderCert?: string | undefined;
}

/** The issuing CAs a config names, in order (ca.issuing, or the single CA of ca.issuingCert and hsm.issuingKey). */
export function issuingCasOf(config: Config): IssuingCaConfig[] {
  if (config.ca.issuing) {
    return config.ca.issuing.map((e, i) => ({
      cert: resolve(config.baseDir, e.cert), key: e.key, crlUrl: e.crlUrl ?? (i === 0 ? config.ca.crlUrl : ''),
      ocspResponderKey: e.ocspResponderKey, ocspResponderCert: e.ocspResponderCert && resolve(config.baseDir, e.ocspResponderCert),
    }));
  }
  return [{ cert: config.ca.issuingCert, key: config.hsm.issuingKey!, crlUrl: config.ca.crlUrl, ocspResponderKey: config.ca.ocspResponderKey, ocspResponderCert: config.ca.ocspResponderCert }];
}

/** Validated configuration with paths made absolute and secrets resolved. */
export type Config = Readonly<z.infer<typeof configSchema>> & { readonly baseDir: string; readonly file: string };

/** Secrets resolved at load; kept apart from Config so logging the config cannot leak them. */
export interface Secrets {
  readonly hsmPin: string;
}

/** Environment overrides: KEYLINE_<SECTION>_<FIELD> (e.g. KEYLINE_SERVER_PORT=0, KEYLINE_STORE_URL=...). */
const ENV_OVERRIDES: Record<string, [string, string, 'string' | 'number' | 'list' | 'boolean']> = {
  KEYLINE_SERVER_HOST: ['server', 'host', 'string'],
  KEYLINE_SERVER_PORT: ['server', 'port', 'number'],
  KEYLINE_SERVER_PUBLIC_PORT: ['server', 'publicPort', 'number'],
  KEYLINE_SERVER_MAX_CONNECTIONS: ['server', 'maxConnections', 'number'],
  KEYLINE_STORE_URL: ['store', 'url', 'string'],
  KEYLINE_LOG_LEVEL: ['log', 'level', 'string'],
  KEYLINE_HSM_MODULE: ['hsm', 'module', 'string'],
  KEYLINE_HSM_SESSIONS: ['hsm', 'sessions', 'number'],
  KEYLINE_HSM_SIGNER_THREAD: ['hsm', 'signerThread', 'boolean'],
  KEYLINE_ENROLL_BROKER: ['enroll', 'broker', 'string'],
  KEYLINE_ENROLL_PORT: ['enroll', 'port', 'number'],
  // Comma-separated PEM files (relative to the config file).
  KEYLINE_CA_MANUFACTURER_ROOTS: ['ca', 'manufacturerRoots', 'list'],
};

/** Loads, overrides, validates and resolves; throws CONFIG_INVALID listing every problem. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): { config: Config; secrets: Secrets } {
  const config = loadConfigWithoutSecrets(file, env);
  return { config, secrets: { hsmPin: resolveSecret(config.hsm.pin, config.baseDir, env, 'hsm.pin') } };
}

/**
 * The same load and validation without resolving secrets, for commands that never touch the HSM
 * (`keyline units`, `keyline audit`): they must work where the PIN is not available.
 */
export function loadConfigWithoutSecrets(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeylineError('CONFIG_INVALID', `cannot read config ${path}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    // A UTF-8 byte order mark (some editors write one) is not part of the JSON text (RFC 8259 §8.1).
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    // No cause: V8's message quotes the text around the error, which may be a secret in clear.
    throw new KeylineError('CONFIG_INVALID', `invalid config ${path}: not JSON: ${jsonSyntaxReason(err as Error, text)}`);
  }
  // Overrides go into sections that are objects (or absent); anything else is left for the
  // schema to report, rather than written through (a TypeError on a string section).
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  for (const [name, [section, field, type]] of Object.entries(ENV_OVERRIDES)) {
    const v = Object.hasOwn(env, name) ? env[name] : undefined;
    if (v === undefined || !isObject(raw)) continue;
    if (raw[section] === undefined) raw[section] = {};
    const target = raw[section];
    if (isObject(target)) target[field] = type === 'number' ? Number(v) : type === 'list' ? v.split(',').filter((x) => x !== '') : type === 'boolean' ? envBoolean(v) : v;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new KeylineError('CONFIG_INVALID', `invalid config ${path}:\n${lines.join('\n')}`);
  }
  const baseDir = dirname(path);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const c = parsed.data;
  const config: Config = Object.freeze({
    ...c,
    baseDir,
    file: path,
    server: { ...c.server, tlsCert: abs(c.server.tlsCert), tlsKey: abs(c.server.tlsKey) },
    hsm: { ...c.hsm, module: c.hsm.module ?? env.KEYLINE_HSM_MODULE, softhsmConf: c.hsm.softhsmConf && abs(c.hsm.softhsmConf) },
    ca: {
      ...c.ca, rootCert: abs(c.ca.rootCert), issuingCert: abs(c.ca.issuingCert), ocspResponderCert: c.ca.ocspResponderCert && abs(c.ca.ocspResponderCert), rootCrl: c.ca.rootCrl && abs(c.ca.rootCrl),
      manufacturerRoots: c.ca.manufacturerRoots.map(abs),
    },
    store: { url: c.store.url.startsWith('sqlite:') ? `sqlite:${abs(c.store.url.slice(7))}` : c.store.url },
    enroll: { ...c.enroll, clientCert: c.enroll.clientCert && abs(c.enroll.clientCert), clientKey: c.enroll.clientKey && abs(c.enroll.clientKey) },
    station: c.station && { ...c.station, cert: abs(c.station.cert), key: abs(c.station.key), journal: abs(c.station.journal) },
  });
  return config;
}

/** Reads a secret reference ({env} or {file}); the value never appears in an error message. */
export function resolveSecret(ref: z.infer<typeof secretRef>, baseDir: string, env: NodeJS.ProcessEnv, field: string): string {
  if ('env' in ref) {
    // Own variables only: `{ "env": "constructor" }` must not resolve to Object.prototype's.
    const v = Object.hasOwn(env, ref.env) ? env[ref.env] : undefined;
    if (typeof v !== 'string' || !v) throw new KeylineError('CONFIG_INVALID', `${field}: environment variable ${ref.env} is not set`);
    return v;
  }
  const p = isAbsolute(ref.file) ? ref.file : resolve(baseDir, ref.file);
  try {
    return readFileSync(p, 'utf8').trim();
  } catch (err) {
    throw new KeylineError('CONFIG_INVALID', `${field}: cannot read secret file ${p}`, { cause: err });
  }
}

/**
 * JSON.parse's reason with the position as line and column, without the excerpt V8 quotes
 * around an unexpected token (`..."pin":12345678"...`): a config may hold a secret by mistake.
 */
function jsonSyntaxReason(err: Error, text: string): string {
  const at = /^(.*?) in JSON at position (\d+)/.exec(err.message);
  if (at) {
    const before = text.slice(0, Number(at[2]));
    return `${at[1]} at line ${before.split('\n').length}, column ${before.length - before.lastIndexOf('\n')}`;
  }
  const token = /^Unexpected token '(.)'/u.exec(err.message);
  if (token) return `unexpected character ${JSON.stringify(token[1])}`;
  return /end of JSON input/.test(err.message) ? 'unexpected end of JSON input' : 'not valid JSON text';
}

/** 'true'/'1' and 'false'/'0'; anything else stays a string for the schema to report. */
function envBoolean(v: string): boolean | string {
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v;
}
