/**
 * Target `ocsp-http`: server/api/public-pki.ts `publicPkiHandler` on a real node:http server on
 * loopback, driven over a keep-alive connection: GET /ocsp/{request} in every encoding a client
 * might send (base64 raw or percent-encoded, base64url, double-encoded, broken escapes, spaces,
 * non-canonical padding, oversized), other spellings of the path, POST bodies of hostile DER with
 * right and wrong content types and sizes, and other methods. Every request is answered (no reset,
 * no 5xx): an OCSP path with a DER OCSPResponse judged as in the `ocsp` target (malformedRequest
 * exactly when the request cannot be decoded or is outside the profile), anything else with a
 * plain 404/413/415/503.
 */
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { publicPkiHandler } from '../../server/api/public-pki.js';
import { silentLogger } from '../../common/log.js';
import { clip, describe, ensure, FuzzFinding, type FuzzTarget } from '../harness.js';
import { hostileDer } from '../mutate-bytes.js';
import { judgeOcspAnswer, ocspBed } from '../ocsp-bed.js';

interface Input {
  method: string;
  path: string;
  contentType: string;
  body: Uint8Array | null;
}

/** The request a GET segment stands for, decoded independently (RFC 6960 A.1: URL-encoded base64 DER); null if it does not decode. */
function decodeSegment(segment: string): Uint8Array | null {
  let text: string;
  try {
    // Percent-decoding byte by byte; a malformed escape is no encoding at all.
    if (/%(?![0-9A-Fa-f]{2})/.test(segment)) return null;
    text = segment.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  } catch {
    return null;
  }
  if (!text || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const der = Buffer.from(text, 'base64');
  return der.toString('base64') === text ? der : null;
}

/** How a GET segment is written. */
const ENCODINGS: Array<(b64: string) => string> = [
  (b) => b,
  (b) => encodeURIComponent(b),
  (b) => b.replace(/\+/g, '%2B').replace(/=/g, '%3D'),
  (b) => b.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
  (b) => encodeURIComponent(encodeURIComponent(b)),
  (b) => b.replace(/=+$/, ''),
  (b) => `${b.slice(0, 8)}%20${b.slice(8)}`,
  (b) => `${b.slice(0, 5)}%${b.slice(5)}`,
  (b) => `${b.slice(0, 5)}%G1${b.slice(5)}`,
  (b) => b.replace(/=/g, '%3d'),
  (b) => `${b}%0A`,
  (b) => b.toLowerCase(),
];

function arbitrary(samples: readonly Uint8Array[]): fc.Arbitrary<Input> {
  const der = hostileDer(samples);
  const getPath = fc.tuple(
    fc.oneof({ weight: 8, arbitrary: fc.constant('/ocsp/') }, { weight: 1, arbitrary: fc.constantFrom('/ocsp//', '/OCSP/', '/ocsp/./', '/ocsp/../ocsp/', '/ocsp', '/ocspx/', '//ocsp/') }),
    der, fc.nat(ENCODINGS.length - 1),
    fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('?', '?a=1', '#frag', '/', '/extra') }),
  ).map(([prefix, d, enc, suffix]) => `${prefix}${ENCODINGS[enc]!(Buffer.from(d).toString('base64'))}${suffix}`);
  const otherPath = fc.oneof(
    fc.constantFrom('/', '/crl/issuing.crl', '/crl/issuing.crl?x', '/ocsp/', '/ocsp/' + 'A'.repeat(10_000), '/%2e%2e/ocsp', '/health'),
    fc.webPath(),
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ method: fc.constant('GET'), path: getPath, contentType: fc.constant(''), body: fc.constant(null) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        method: fc.constant('POST'),
        path: fc.constantFrom('/ocsp', '/ocsp/', '/ocsp/x', '/OCSP'),
        contentType: fc.oneof({ weight: 6, arbitrary: fc.constant('application/ocsp-request') }, { weight: 1, arbitrary: fc.constantFrom('', 'application/json', 'application/ocsp-requestx', 'text/plain', 'application/ocsp-request; charset=x') }),
        body: fc.oneof({ weight: 8, arbitrary: der }, { weight: 1, arbitrary: fc.constantFrom(new Uint8Array(8192), new Uint8Array(8193), new Uint8Array(40_000), new Uint8Array(0)) }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ method: fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'POST'), path: otherPath, contentType: fc.constant(''), body: fc.constant(null) }) },
  );
}

/** One request over the shared keep-alive agent; resolves with status, content type and body. */
function send(port: number, agent: Agent, input: Input): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (input.contentType) headers['content-type'] = input.contentType;
    if (input.body) headers['content-length'] = input.body.length;
    const req = httpRequest({ host: '127.0.0.1', port, agent, method: input.method, path: input.path, headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new FuzzFinding(`no answer within 5 s to ${input.method} ${clip(input.path, 100)}`)));
    req.on('error', reject);
    req.end(input.body ?? undefined);
  });
}

/** The target. */
export const ocspHttpTarget: FuzzTarget<Input> = {
  name: 'ocsp-http',
  summary: 'publicPkiHandler over loopback HTTP: GET /ocsp/{request} in every encoding, POST bodies, other paths and methods; every request answered, OCSP paths with a judged OCSPResponse',
  heapBoundBytes: 32 * 1024 * 1024,
  async setup() {
    const bed = await ocspBed();
    const server: Server = createServer(publicPkiHandler({ crlPath: '/crl/issuing.crl', ocspPath: '/ocsp', crl: () => null, ocsp: bed.responder, log: silentLogger }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    return {
      arbitrary: arbitrary(bed.samples),
      async check(input) {
        // Paths node:http would refuse to send (raw spaces, non-ASCII) never reach a server as such.
        const path = input.path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
        let r;
        try {
          r = await send(port, agent, { ...input, path });
        } catch (err) {
          throw err instanceof FuzzFinding ? err : new FuzzFinding(`${input.method} ${clip(path, 100)}: no answer (${describe(err)})`);
        }
        // node:http answers 431 itself for a request line beyond its 16 KiB header limit.
        if (r.status === 431 && path.length > 8192) return `${input.method} 431 (node:http header limit)`;
        const pathOnly = path.split('?', 1)[0]!;
        const crl = pathOnly === '/crl/issuing.crl' && (input.method === 'GET' || input.method === 'HEAD');
        // 503 is the CRL's "none issued yet" (this bed publishes none); any other 5xx is a finding.
        ensure(r.status < 500 || (crl && r.status === 503), () => `${input.method} ${clip(path, 100)} answered ${r.status}: ${clip(r.body.toString('latin1'), 100)}`);
        ensure(bed.errors.length === 0, () => `responder reported ${describe(bed.errors[0])}`);
        const ocspPost = input.method === 'POST' && (pathOnly === '/ocsp' || pathOnly === '/ocsp/');
        if (input.method === 'GET' && pathOnly.startsWith('/ocsp/')) {
          ensure(r.status === 200 && r.type === 'application/ocsp-response', () => `GET ${clip(path, 100)} answered ${r.status} ${r.type}`);
          return `GET ${judgeOcspAnswer(bed, decodeSegment(pathOnly.slice('/ocsp/'.length)), r.body)}`;
        }
        if (ocspPost && input.contentType.startsWith('application/ocsp-request') && input.body!.length <= 8192) {
          ensure(r.status === 200 && r.type === 'application/ocsp-response', () => `POST answered ${r.status} ${r.type}`);
          return `POST ${judgeOcspAnswer(bed, input.body, r.body)}`;
        }
        const want = ocspPost ? (input.contentType.startsWith('application/ocsp-request') ? 413 : 415) : crl ? 503 : 404;
        ensure(r.status === want, () => `${input.method} ${clip(path, 100)} (${input.contentType}) answered ${r.status}, expected ${want}`);
        return `${input.method} ${r.status}`;
      },
      async close() {
        agent.destroy();
        await new Promise((r) => server.close(r));
      },
    };
  },
};
