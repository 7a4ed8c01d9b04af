/**
 * Azure DPS device registration over MQTT, the wire only (no decisions): the CONNECT username,
 * the two request topics, the request body and the reply topic. Shapes as the official clients
 * send and read them (../shared/reference/cloud-provisioning.md §4, §9b): the Node client
 * (azure-iot-provisioning-device-mqtt: `$rid` a uuid, a poll body of one space) and the embedded
 * C client (az_iot_provisioning_client.c: `$rid=1`, `&ClientVersion=` only with a user agent).
 */

/** The only filter a device may subscribe to (DPS refuses subtopic wildcards). */
export const DPS_RESPONSE_FILTER = '$dps/registrations/res/#';

const REGISTER_PREFIX = '$dps/registrations/PUT/iotdps-register/?';
const POLL_PREFIX = '$dps/registrations/GET/iotdps-get-operationstatus/?';

/** A parsed CONNECT username: `{idScope}/registrations/{registrationId}/api-version=…[&k=v…]`. */
export interface DpsUsername {
  idScope: string;
  registrationId: string;
  apiVersion: string;
  /** Further `&` parameters (ClientVersion, …), raw. */
  params: Record<string, string>;
}

/** A request topic, parsed. `rid` is kept exactly as sent: the reply echoes it byte for byte. */
export type DpsRequest = { kind: 'register'; rid: string } | { kind: 'poll'; rid: string; operationId: string };

/** Characters a `$rid` or operation id may hold: nothing that would change a reply topic's shape. */
const SAFE = /^[A-Za-z0-9._~:-]{1,128}$/;

/** The username's parts, or null when it is not a DPS registration username. */
export function parseDpsUsername(username: string | undefined): DpsUsername | null {
  if (!username) return null;
  const m = /^([^/]{1,64})\/registrations\/([^/]{1,128})\/(.*)$/.exec(username);
  if (!m) return null;
  const params = parseQuery(m[3]!);
  const apiVersion = params?.['api-version'];
  if (!params || apiVersion === undefined) return null;
  delete params['api-version'];
  return { idScope: m[1]!, registrationId: m[2]!, apiVersion, params };
}

/** The request a topic names, or null for anything else. */
export function parseDpsTopic(topic: string): DpsRequest | null {
  if (topic.startsWith(REGISTER_PREFIX)) {
    const q = parseQuery(topic.slice(REGISTER_PREFIX.length));
    const rid = q?.$rid;
    return rid !== undefined && SAFE.test(rid) ? { kind: 'register', rid } : null;
  }
  if (topic.startsWith(POLL_PREFIX)) {
    const q = parseQuery(topic.slice(POLL_PREFIX.length));
    const rid = q?.$rid;
    const operationId = q?.operationId;
    return rid !== undefined && SAFE.test(rid) && operationId !== undefined && SAFE.test(operationId) ? { kind: 'poll', rid, operationId } : null;
  }
  return null;
}

/** `$dps/registrations/res/{status}/?$rid={rid}[&retry-after={s}]`: the `/?` is what the clients match on. */
export function dpsResponseTopic(status: number, rid: string, retryAfterSeconds?: number): string {
  return `$dps/registrations/res/${status}/?$rid=${rid}${retryAfterSeconds === undefined ? '' : `&retry-after=${retryAfterSeconds}`}`;
}

/** A register request's body: `{registrationId, payload?}`; other members (a CSR of the preview API) are ignored. */
export interface RegisterBody {
  registrationId: string;
  payload?: unknown;
}

/** The body as a register request, or why it is not one. */
export function parseRegisterBody(bytes: Buffer): RegisterBody | { invalid: string } {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { invalid: 'the body is not JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { invalid: 'the body is not a JSON object' };
  const { registrationId, payload } = body as Record<string, unknown>;
  if (typeof registrationId !== 'string' || registrationId.length === 0) return { invalid: 'registrationId: a non-empty string is required' };
  return payload === undefined ? { registrationId } : { registrationId, payload };
}

// `a=b&c=d` with the first `=` splitting each pair; null on a pair without one or a key twice.
function parseQuery(q: string): Record<string, string> | null {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (q === '') return out;
  for (const pair of q.split('&')) {
    const i = pair.indexOf('=');
    if (i <= 0) return null;
    const k = pair.slice(0, i);
    if (k in out) return null;
    out[k] = pair.slice(i + 1);
  }
  return out;
}
