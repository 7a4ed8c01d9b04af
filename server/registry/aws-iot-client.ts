/**
 * The AWS IoT control-plane client as Keyline uses it, and the one place AWS errors become
 * RegistryErrors. The SDK's own retries are off (maxAttempts 1): the outbox owns retries, with
 * its backoff, its lease and its parking, and a retry hidden inside the SDK would hold the lease
 * for minutes and double-count throttle budget.
 */
import { IoTClient } from '@aws-sdk/client-iot';
import { RegistryError } from '../../common/errors.js';
import type { AwsIotRegistryConfig } from './aws-iot-config.js';
import type { RegistryContext } from './registry-kind.js';

/** Builds the IoTClient for a config section (static keys by reference, or the default chain). */
export function createIotClient(cfg: AwsIotRegistryConfig, ctx: RegistryContext): IoTClient {
  return new IoTClient({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    ...(cfg.credentials ? {
      credentials: {
        accessKeyId: ctx.secret(cfg.credentials.accessKeyId, 'credentials.accessKeyId'),
        secretAccessKey: ctx.secret(cfg.credentials.secretAccessKey, 'credentials.secretAccessKey'),
      },
    } : {}),
    maxAttempts: 1,
    // Without throwOnRequestTimeout the handler only warns and a hung call holds the job forever.
    requestHandler: { requestTimeout: cfg.requestTimeoutMs, connectionTimeout: Math.min(cfg.requestTimeoutMs, 5_000), throwOnRequestTimeout: true },
  });
}

/** What an SDK error carries that the mapping reads. */
interface AwsError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { headers?: Record<string, string | undefined> };
}

/** The AWS error name (e.g. 'ResourceAlreadyExistsException') of an error or of a RegistryError's cause. */
export function awsErrorName(err: unknown): string | undefined {
  const e = (err instanceof RegistryError ? err.cause : err) as AwsError | undefined;
  return e?.name;
}

/** Retry-After in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3); AWS's x-amz-retry-after is ms. */
function retryAfterMs(headers: Record<string, string | undefined> | undefined): number | undefined {
  const ms = headers?.['x-amz-retry-after'];
  if (ms !== undefined && /^\d+$/.test(ms)) return Number(ms);
  const v = headers?.['retry-after']?.trim();
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const UNAVAILABLE = new Set(['ServiceUnavailableException', 'InternalFailureException', 'InternalException', 'InternalServerException']);

/** Maps an SDK failure of `what` to the RegistryError the outbox acts on. */
export function toRegistryError(registry: string, what: string, err: unknown): RegistryError {
  const e = (err ?? {}) as AwsError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const wait = retryAfterMs(e.$response?.headers);
  const detail = { registry, awsError: name, ...(status ? { httpStatus: status } : {}), ...(e.$metadata?.requestId ? { requestId: e.$metadata.requestId } : {}) };
  const message = `${registry}: ${what}: ${name}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? ''}`.trimEnd();
  const opts = { detail, cause: err, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  if (name === 'ThrottlingException' || status === 429) return new RegistryError('REGISTRY_THROTTLED', message, opts);
  // No HTTP status: the request never got an answer (refused, reset, timed out, no credentials yet).
  if (UNAVAILABLE.has(name) || status === undefined || status >= 500 || e.$fault === 'server') return new RegistryError('REGISTRY_UNAVAILABLE', message, opts);
  // InvalidRequest, Unauthorized, CertificateValidation, ResourceNotFound (policy, group), ...: the request is wrong.
  return new RegistryError('REGISTRY_REJECTED', message, opts);
}

/** Returns `call(what, op)`: runs one SDK call, throwing its failure as a RegistryError. */
export function iotCall(registry: string): <T>(what: string, op: () => Promise<T>) => Promise<T> {
  return async (what, op) => {
    try {
      return await op();
    } catch (err) {
      throw toRegistryError(registry, what, err);
    }
  };
}
