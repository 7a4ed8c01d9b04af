/**
 * AWS IoT Fleet Provisioning's MQTT API, the wire only (no decisions): request topics, reply
 * topics, the JSON and CBOR payloads and the rejected shape (../shared/reference/
 * cloud-provisioning.md §3, §9a; aws-iot-device-sdk-v2 `iotidentity/v2utils.js`). Requests are
 * read for the members the API defines; unknown members (the v1 JS client's `templateName`) are
 * ignored, as AWS does.
 */
import { decodeCbor, encodeCbor, type CborValue } from './cbor.js';

/** The payload encoding, which follows the topic. */
export type FleetFormat = 'json' | 'cbor';

/** A request topic, parsed. */
export type FleetRequest =
  | { api: 'create-from-csr'; format: FleetFormat }
  | { api: 'create'; format: FleetFormat }
  | { api: 'provision'; format: FleetFormat; templateName: string };

/** The reply topic of a request: its topic + `/accepted` or `/rejected`. */
export type FleetReplyKind = 'accepted' | 'rejected';

const TEMPLATE_NAME = /^[0-9A-Za-z_-]{1,36}$/;

/** The request a topic names, or null. */
export function parseFleetTopic(topic: string): FleetRequest | null {
  let m = /^\$aws\/certificates\/(create|create-from-csr)\/(json|cbor)$/.exec(topic);
  if (m) return { api: m[1] as 'create' | 'create-from-csr', format: m[2] as FleetFormat };
  m = /^\$aws\/provisioning-templates\/([^/]+)\/provision\/(json|cbor)$/.exec(topic);
  // A name outside AWS's pattern is still a RegisterThing request: refused as an unknown template.
  if (m) return { api: 'provision', format: m[2] as FleetFormat, templateName: m[1]! };
  return null;
}

/** The topic of a request, for building replies (the request topic with its suffix). */
export function fleetRequestTopic(r: FleetRequest): string {
  return r.api === 'provision' ? `$aws/provisioning-templates/${r.templateName}/provision/${r.format}` : `$aws/certificates/${r.api}/${r.format}`;
}

/** Whether `name` is a valid template name (anything else is never configured). */
export const isTemplateName = (name: string): boolean => TEMPLATE_NAME.test(name);

/**
 * Whether a device may hold a subscription: the reply topics of the API, literally or with `+`
 * / `#` inside the API's own tree (`$aws/certificates/…`, `$aws/provisioning-templates/…`).
 * Replies only ever go to the connection that asked, so this only stops obvious mistakes early.
 */
export function isFleetReplyFilter(filter: string): boolean {
  return /^\$aws\/(certificates|provisioning-templates)\//.test(filter) && !filter.includes('$', 1);
}

/** Decodes a request body: a JSON or CBOR map, or why it is not one. */
export function decodeFleetBody(format: FleetFormat, bytes: Buffer): { body: Record<string, unknown> } | { invalid: string } {
  // CreateKeysAndCertificate's request is empty (the Node SDK sends `{}`): an empty body is an empty map.
  if (bytes.length === 0) return { body: {} };
  let v: unknown;
  try {
    v = format === 'json' ? JSON.parse(bytes.toString('utf8')) : decodeCbor(bytes);
  } catch (err) {
    return { invalid: `the payload is not ${format === 'json' ? 'JSON' : 'CBOR'} (${(err as Error).message})` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return { invalid: 'the payload is not a map' };
  return { body: v as Record<string, unknown> };
}

/** CreateCertificateFromCsr's request member, or why it is missing. */
export function csrOf(body: Record<string, unknown>): string | { invalid: string } {
  const csr = body.certificateSigningRequest;
  return typeof csr === 'string' && csr.length > 0 ? csr : { invalid: 'certificateSigningRequest: a PEM CSR is required' };
}

/** RegisterThing's request members: the token and the parameters (a flat map of strings). */
export function registerThingOf(body: Record<string, unknown>): { token: string; parameters: Record<string, string> } | { invalid: string; tokenInvalid?: true } {
  const token = body.certificateOwnershipToken;
  // AWS's own answer to a missing token (aws-iot-device-sdk-js-v2#69).
  if (typeof token !== 'string' || token.length === 0) return { invalid: 'Certificate ownership token cannot be empty.', tokenInvalid: true };
  const raw = body.parameters ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { invalid: 'parameters: a map of strings is expected' };
  const parameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') return { invalid: `parameters.${k}: a string is expected` };
    parameters[k] = v;
  }
  return { token, parameters };
}

/** Encodes a reply in the request's format. */
export function encodeFleetBody(format: FleetFormat, body: Record<string, CborValue>): Buffer {
  return format === 'json' ? Buffer.from(JSON.stringify(body)) : encodeCbor(body);
}
