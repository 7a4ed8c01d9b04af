/**
 * Azure IoT Hub Device Provisioning Service as a preregistration target, through the official
 * service SDK (azure-iot-provisioning-service). Two modes (azure-dps-config.ts):
 * - 'individual': register() writes one X.509 individual enrollment per unit, keyed by its device
 *   certificate; DPS then admits exactly that certificate.
 * - 'enrollment-group': the issuing CA's group (azure-dps-kind.ts setup) admits every unit;
 *   register() only marks the job awaiting and confirmConnection() reads the registration state.
 * revoke() is the same in both: a disabled individual enrollment for the unit's certificate, since
 * DPS checks no CRL and an individual entry takes precedence over any group (Microsoft Learn,
 * "How to disenroll or revoke a device", section "Disallow specific devices in an enrollment group").
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import httpBase from 'azure-iot-http-base';
import service from 'azure-iot-provisioning-service';
import type { IndividualEnrollment, X509Certificates } from 'azure-iot-provisioning-service/dist/interfaces.js';
import { KeylineError, RegistryError } from '../../common/errors.js';
import * as x509 from '../../common/x509.js';
import type { UnitRecord } from '../store/store.js';
import type { AzureDpsRegistryConfig } from './azure-dps-config.js';
import type { Registry, RegistrationResult } from './registry.js';
import type { RegistryContext } from './registry-kind.js';

type ProvisioningServiceClient = InstanceType<typeof service.ProvisioningServiceClient>;

/** The three fields of a DPS service connection string. */
export interface DpsConnection {
  hostName: string;
  keyName: string;
  key: string;
}

/** Parses `HostName=...;SharedAccessKeyName=...;SharedAccessKey=...`; `field` names it in errors. */
export function parseDpsConnectionString(value: string, field: string): DpsConnection {
  const parts = new Map<string, string>();
  for (const part of value.trim().split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq), part.slice(eq + 1)); // the key is base64 and may end in '='
  }
  const hostName = parts.get('HostName');
  const keyName = parts.get('SharedAccessKeyName');
  const key = parts.get('SharedAccessKey');
  const missing = [!hostName && 'HostName', !keyName && 'SharedAccessKeyName', !key && 'SharedAccessKey'].filter(Boolean);
  if (missing.length > 0) {
    throw new KeylineError('CONFIG_INVALID', `${field}: connection string lacks ${missing.join(', ')}`, { detail: { field } });
  }
  return { hostName: hostName!, keyName: keyName!, key: key! };
}

/**
 * A DPS shared access signature (IoT Hub/DPS "Security tokens"): HMAC-SHA256 with the base64 key
 * over `<url-encoded resource>\n<expiry seconds>`. RestApiClient calls extend() before each request,
 * so the token never outlives its hour. Written here rather than taken from azure-iot-common, of
 * which two versions are installed (one nested under azure-iot-http-base).
 */
export class DpsSharedAccessSignature {
  constructor(private readonly conn: DpsConnection) {}

  /** Re-signs for `expiry` (seconds since the epoch) and returns the Authorization header value. */
  extend(expiry: number): string {
    const sr = encodeURIComponent(this.conn.hostName);
    const sig = createHmac('sha256', Buffer.from(this.conn.key, 'base64')).update(`${sr}\n${expiry}`).digest('base64');
    return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expiry}&skn=${encodeURIComponent(this.conn.keyName)}`;
  }
}

/**
 * The SDK's HTTP layer with the two things it cannot be configured for: a port (it passes only
 * `host` to https.request unless each call carries options, reference §5.2) and a timeout.
 */
class EndpointHttp extends httpBase.Http {
  constructor(private readonly port: number | undefined, private readonly timeoutMs: number) {
    super();
  }

  override buildRequest(...args: Parameters<InstanceType<typeof httpBase.Http>['buildRequest']>): ClientRequest {
    const [method, path, headers, host, given, callback] = args;
    let options: typeof given | undefined = given;
    let done = callback;
    if (typeof options === 'function') [options, done] = [undefined, options];
    if (this.port !== undefined && (options === undefined || this.isHttpRequestOptions(options))) {
      options = { ...(options ?? {}), port: this.port };
    }
    const req = options === undefined ? super.buildRequest(method, path, headers, host, done!) : super.buildRequest(method, path, headers, host, options, done);
    req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer in ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    return req;
  }
}

/** Builds the service client for a registry section: its host, port, CA and shared access key. */
export function createDpsClient(name: string, cfg: AzureDpsRegistryConfig, ctx: RegistryContext): ProvisioningServiceClient {
  // ctx.secret names the field under registries.<name> itself.
  const conn = parseDpsConnectionString(ctx.secret(cfg.connectionString, 'connectionString'), `registries.${name}.connectionString`);
  // The token's resource is the DPS host name even when the calls go elsewhere (a local endpoint);
  // the SDK re-signs it with an hour's expiry before every call (RestApiClient.executeApiCall).
  const sas = new DpsSharedAccessSignature(conn);
  // The SDK only ever calls extend() on a non-string signature; its type names its own class.
  const config = { host: cfg.endpoint?.host ?? conn.hostName, sharedAccessSignature: sas as unknown as string };
  const http = new EndpointHttp(cfg.endpoint?.port, cfg.timeoutMs);
  if (cfg.endpoint?.ca) http.setOptions({ ca: readFileSync(cfg.endpoint.ca, 'utf8') });
  const rest = new httpBase.RestApiClient(config, 'keyline-azure-dps', http);
  return new service.ProvisioningServiceClient(config, rest);
}

/** Maps an SDK failure to a RegistryError: 429 throttled, 408/412/5xx/network unavailable, other 4xx rejected. */
export function dpsError(err: unknown, what: string): RegistryError {
  if (err instanceof RegistryError) return err;
  const res = (err as { response?: { statusCode?: number; headers?: Record<string, string | string[] | undefined> } }).response;
  const status = res?.statusCode;
  const detail = { operation: what, status: status ?? null };
  if (status === 429) {
    const retryAfterMs = retryAfter(res?.headers?.['retry-after']);
    return new RegistryError('REGISTRY_THROTTLED', `${what}: DPS answered 429`, { detail, cause: err, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  // 412: the enrollment changed between our read and our write (If-Match); the retry reads again.
  if (status === undefined || status >= 500 || status === 408 || status === 412) {
    return new RegistryError('REGISTRY_UNAVAILABLE', `${what}: ${status === undefined ? (err as Error).message : `DPS answered ${status}`}`, { detail, cause: err });
  }
  return new RegistryError('REGISTRY_REJECTED', `${what}: DPS answered ${status}`, { detail, cause: err });
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in milliseconds. */
function retryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const is404 = (err: unknown): boolean => (err as { response?: { statusCode?: number } }).response?.statusCode === 404;

/** Calls the SDK; a 404 becomes null, every other failure a RegistryError. */
async function call<T>(what: string, fn: () => Promise<{ responseBody: T }>, notFoundIsNull: boolean): Promise<T | null> {
  try {
    return (await fn()).responseBody;
  } catch (err) {
    if (notFoundIsNull && is404(err)) return null;
    throw dpsError(err, what);
  }
}

/** PEM text of a DER certificate. */
export function toPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

/**
 * Whether DPS holds this certificate in `certs`: a GET answers with the parsed `info` (thumbprints)
 * rather than the PEM, so compare SHA-256 thumbprints, or the PEM itself when it is echoed.
 */
export function holdsCertificate(certs: X509Certificates | undefined, sha256Hex: string, pem: string): boolean {
  const primary = certs?.primary;
  if (!primary) return false;
  const thumb = primary.info?.sha256Thumbprint;
  if (thumb) return thumb.toLowerCase() === sha256Hex.toLowerCase();
  return !!primary.certificate && primary.certificate.replace(/\s+/g, '') === pem.replace(/\s+/g, '');
}

/** The registration id of a unit: DPS requires the leaf CN for X.509, and Keyline's CN is the serial. */
function registrationIdOf(unit: UnitRecord): string {
  const cn = new x509.X509Certificate(unit.certificateDer.slice().buffer as ArrayBuffer).subjectName.getField('CN')[0];
  if (cn !== unit.serial) {
    throw new RegistryError('REGISTRY_REJECTED', `unit ${unit.serial}: certificate CN ${cn ?? '(none)'} is not the serial; DPS would refuse the device`, { detail: { serial: unit.serial } });
  }
  return unit.serial;
}

/** Creates the DPS registry named `name`; `client` replaces the SDK client built from `cfg` (tests). */
export function createAzureDpsRegistry(name: string, cfg: AzureDpsRegistryConfig, ctx: RegistryContext, client = createDpsClient(name, cfg, ctx)): Registry {
  const log = ctx.log.child({ area: 'azure-dps' });

  /** The enrollment body Keyline writes for a unit: its certificate, the section's policy. */
  const enrollmentFor = (unit: UnitRecord, registrationId: string, provisioningStatus: 'enabled' | 'disabled'): IndividualEnrollment => ({
    registrationId,
    deviceId: `${cfg.deviceIdPrefix}${registrationId}`,
    attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: toPem(unit.certificateDer) } } } },
    provisioningStatus,
    capabilities: { iotEdge: false },
    ...(cfg.iotHubHostName ? { iotHubHostName: cfg.iotHubHostName } : {}),
    ...(cfg.allocationPolicy ? { allocationPolicy: cfg.allocationPolicy } : {}),
    ...(cfg.iotHubs ? { iotHubs: cfg.iotHubs } : {}),
    ...(cfg.reprovisionPolicy ? { reprovisionPolicy: cfg.reprovisionPolicy } : {}),
    ...(cfg.initialTwin ? { initialTwin: cfg.initialTwin } : {}),
  } as IndividualEnrollment);

  /** Reads the unit's enrollment; refuses one that holds another certificate (a clone or a mistake). */
  async function existing(unit: UnitRecord, registrationId: string): Promise<IndividualEnrollment | null> {
    const found = await call('getIndividualEnrollment', () => client.getIndividualEnrollment(registrationId), true);
    if (found && !holdsCertificate(found.attestation?.x509?.clientCertificates, unit.fingerprintSha256, toPem(unit.certificateDer))) {
      throw new RegistryError('REGISTRY_REJECTED', `enrollment ${registrationId} holds another certificate than unit ${unit.serial}'s; not overwritten`, {
        detail: { serial: unit.serial, registrationId, fingerprint: unit.fingerprintSha256 },
      });
    }
    return found;
  }

  return {
    name,
    maxPerSecond: cfg.maxPerSecond,

    async register(unit: UnitRecord): Promise<RegistrationResult> {
      const registrationId = registrationIdOf(unit);
      // Group mode: the device creates its own registration at first connection; nothing to write.
      if (cfg.mode === 'enrollment-group') return { externalId: registrationId, awaitingConnection: true };
      // Read first: a retried job must not write twice, and a disabled (revoked) entry stays disabled.
      if (await existing(unit, registrationId)) return { externalId: registrationId };
      await call('createOrUpdateIndividualEnrollment', () => client.createOrUpdateIndividualEnrollment(enrollmentFor(unit, registrationId, 'enabled')), false);
      log.info({ serial: unit.serial, registrationId }, 'dps individual enrollment created');
      return { externalId: registrationId };
    },

    async confirmConnection(unit: UnitRecord): Promise<RegistrationResult | null> {
      const registrationId = registrationIdOf(unit);
      const state = await call('getDeviceRegistrationState', () => client.getDeviceRegistrationState(registrationId), true);
      // 'assigning' and 'unassigned' may still turn into 'assigned'; 'failed'/'disabled' wait for an operator.
      return state?.status === 'assigned' ? { externalId: registrationId } : null;
    },

    async revoke(unit: UnitRecord): Promise<void> {
      const registrationId = registrationIdOf(unit);
      const found = await existing(unit, registrationId);
      if (found?.provisioningStatus === 'disabled') return;
      // No entry yet (group mode, or a register job not yet delivered): a disabled one blocks the
      // certificate, and a later register finds it and leaves it disabled. An entry: disable it under
      // If-Match, keeping any fields an operator set, with our PEM since a GET does not echo it.
      const body = found
        ? { ...found, attestation: enrollmentFor(unit, registrationId, 'disabled').attestation, provisioningStatus: 'disabled' as const }
        : enrollmentFor(unit, registrationId, 'disabled');
      await call('createOrUpdateIndividualEnrollment', () => client.createOrUpdateIndividualEnrollment(body), false);
      log.info({ serial: unit.serial, registrationId }, 'dps individual enrollment disabled');
    },
  };
}
