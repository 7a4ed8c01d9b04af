/**
 * AWS's pre-provisioning hook, as a URL (pre-provisioning-hook.html; reference §3.3): on every
 * RegisterThing of a template that names one, AWS's Lambda payload is POSTed as JSON and the
 * answer must come within the budget (5 s, AWS's hard limit) as `{allowProvisioning: true,
 * parameterOverrides?}`. A failure, a timeout or any other answer refuses the device
 * (PROVISIONING_DENIED, AWS's ACCESS_DENIED); the overrides are merged into the parameters.
 */
import { KeylineError } from '../../../common/errors.js';

/** AWS's hook payload (payloadVersion 2020-04-01). */
export interface HookRequest {
  claimCertificateId: string;
  certificateId: string;
  certificatePem: string;
  templateArn: string;
  clientId: string;
  parameters: Record<string, string>;
}

/** Calls the hook; resolves to the parameter overrides when it allows provisioning, else throws PROVISIONING_DENIED. */
export async function callPreProvisioningHook(url: string, timeoutMs: number, req: HookRequest, fetchImpl: typeof fetch = fetch): Promise<Record<string, string>> {
  const deny = (why: string, cause?: unknown) => new KeylineError('PROVISIONING_DENIED', `pre-provisioning hook: ${why}`, cause === undefined ? {} : { cause });
  let body: unknown;
  try {
    const res = await fetchImpl(url, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req), signal: AbortSignal.timeout(timeoutMs), redirect: 'error',
    });
    if (!res.ok) throw deny(`answered HTTP ${res.status}`);
    body = await res.json();
  } catch (err) {
    if (err instanceof KeylineError) throw err;
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    throw deny(timedOut ? `no answer within ${timeoutMs} ms` : 'the call failed', err);
  }
  if (typeof body !== 'object' || body === null || (body as { allowProvisioning?: unknown }).allowProvisioning !== true) throw deny('did not allow provisioning');
  const overrides = (body as { parameterOverrides?: unknown }).parameterOverrides ?? {};
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides) || Object.values(overrides).some((v) => typeof v !== 'string')) {
    throw deny('parameterOverrides is not a map of strings');
  }
  return overrides as Record<string, string>;
}
