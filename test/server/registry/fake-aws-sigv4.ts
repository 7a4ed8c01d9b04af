/**
 * Verifies an AWS Signature Version 4 request signature, as the service does, for the fake AWS
 * endpoints: the canonical request (method, URI-encoded path, sorted query, signed headers,
 * payload hash), the string to sign over the credential scope, and the HMAC chain from the
 * secret key (AWS General Reference, "Create a signed AWS API request").
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
const hmac = (k: Buffer | string, s: string): Buffer => createHmac('sha256', k).update(s).digest();
/** RFC 3986 unreserved characters stay; everything else is %XX (SigV4's UriEncode). */
const uriEncode = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Returns null when the request is signed correctly for `expect`, else what is wrong. */
export function verifySigV4(
  req: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer },
  expect: { accessKeyId: string; secretAccessKey: string; region: string; service: string },
): string | null {
  const auth = req.headers.authorization;
  const m = typeof auth === 'string'
    ? /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(auth)
    : null;
  if (!m) return `authorization header is not AWS4-HMAC-SHA256 (${String(auth).slice(0, 40)})`;
  const [, keyId, day, region, service, signedHeaders, signature] = m as unknown as string[];
  if (keyId !== expect.accessKeyId) return `credential ${keyId} is not the test access key`;
  if (region !== expect.region || service !== expect.service) return `credential scope ${region}/${service} is not ${expect.region}/${expect.service}`;
  const amzDate = req.headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(amzDate)) return 'x-amz-date missing or malformed';
  if (!amzDate.startsWith(day!)) return `x-amz-date ${amzDate} is not of the credential day ${day}`;
  // AWS refuses a signature more than 15 minutes off its clock.
  const t = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(Date.now() - t) > 15 * 60_000) return `x-amz-date ${amzDate} is more than 15 minutes off`;
  const payloadHash = sha256(req.body);
  const claimed = req.headers['x-amz-content-sha256'];
  if (claimed !== undefined && claimed !== payloadHash) return 'x-amz-content-sha256 does not match the body';
  const names = signedHeaders!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'host and x-amz-date must be signed';
  for (const h of Object.keys(req.headers)) {
    if ((h.startsWith('x-amz') || h === 'content-type') && !names.includes(h)) return `header ${h} is not signed`;
  }
  const url = new URL(req.url, 'http://x');
  // Services other than S3 encode each path segment once more than it travels (wire form, not URL's normalised one).
  const path = req.url.split('?')[0]!.split('/').map(uriEncode).join('/');
  const query = [...url.searchParams].map(([k, v]) => [uriEncode(k), uriEncode(v)]).sort(([a, x], [b, y]) => (a! < b! ? -1 : a! > b! ? 1 : x! < y! ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join('&');
  const headerLines = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, path, query, headerLines, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${expect.secretAccessKey}`, day!), region!), service!), 'aws4_request');
  const want = hmac(key, toSign);
  if (!timingSafeEqual(want, Buffer.from(signature!, 'hex'))) return 'SigV4 signature does not verify';
  return null;
}
