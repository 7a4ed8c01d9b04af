/**
 * The public plain-HTTP listener's handler: the CRL at the path of the CRL distribution point URL
 * and the OCSP responder at the path of the AIA OCSP URL (GET with the base64 request in the path,
 * RFC 6960 Appendix A.1; POST application/ocsp-request). Relying parties fetch both without TLS
 * (RFC 5280 §4.2.1.13, RFC 6960 Appendix A), and both are signed. A bare node:http handler, not
 * Koa: every microsecond of routing counts at tens of thousands of OCSP answers per second.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { OcspResponder } from '../ca/ocsp-responder.js';
import { ocspErrorResponse } from '../ca/ocsp-response.js';
import type { PublishedCrl } from '../services/crl-publisher.js';
import { decodeOcspGetSegment } from './ocsp-get-path.js';

/** What the public listener serves. */
export interface PublicPkiDeps {
  /** URL path of the CRL (from ca.crlUrl), e.g. /crl/issuing.crl. */
  crlPath: string;
  /** URL path of the OCSP responder (from ca.ocspUrl), e.g. /ocsp. */
  ocspPath: string;
  crl: () => PublishedCrl | null;
  /**
   * CRLs at other paths (issue 19: each further issuing CA's, and the root's at the CDP of the
   * issuing CA certificates): the CRL to serve, null when none is held yet, undefined when `path`
   * is not a CRL path.
   */
  otherCrls?: (path: string) => ServedCrl | null | undefined;
  /** The responder (or a router over several issuers' responders). */
  ocsp: Pick<OcspResponder, 'respond'>;
  log: Logger;
}

/** A CRL as served: its DER and the dates the cache headers carry. */
export type ServedCrl = Pick<PublishedCrl, 'der' | 'thisUpdate' | 'nextUpdate'>;

/** Largest OCSP request body accepted (a one-CertID request with a nonce is under 300 bytes; room for a requester signature). */
export const MAX_OCSP_REQUEST_BYTES = 8192;

// Lingering close after a 413: at most this long, at most this many bytes drained.
const LINGER_MS = 2000;
const LINGER_MAX_BYTES = 1024 * 1024;

/** Builds the request handler for node:http's createServer. */
export function publicPkiHandler(deps: PublicPkiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const ocspPrefix = deps.ocspPath.endsWith('/') ? deps.ocspPath : `${deps.ocspPath}/`;
  const answer = (res: ServerResponse, der: Buffer) => {
    res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': der.length });
    res.end(der);
  };
  const fail = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
    const body = `${text}\n`;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  const serveOcsp = (res: ServerResponse, body: Buffer) => {
    deps.ocsp.respond(body).then((der) => answer(res, der), (err) => {
      deps.log.error({ err }, 'ocsp failed');
      fail(res, 500, 'internal error');
    });
  };
  // A body over the limit is not kept: the 413 goes out at once (Connection: close), the rest of
  // the body is read and dropped, and only then is the response ended and the connection closed.
  // Closing with unread input would send a TCP reset, which can destroy the answer at the client
  // before it is read; a client that sends more than LINGER_MAX_BYTES or takes longer than
  // LINGER_MS more is cut off.
  const tooLarge = (req: IncomingMessage, res: ServerResponse) => {
    if (res.headersSent) return;
    const body = `request too large (at most ${MAX_OCSP_REQUEST_BYTES} bytes)\n`;
    res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.write(body);
    let drained = 0;
    const finish = () => {
      clearTimeout(timer);
      if (!res.writableEnded) res.end();
    };
    const timer = setTimeout(finish, LINGER_MS);
    req.on('data', (c: Buffer) => {
      if ((drained += c.length) > LINGER_MAX_BYTES) finish();
    });
    req.on('end', finish);
    req.resume();
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0]!;
    if (req.method === 'POST' && (path === deps.ocspPath || path === ocspPrefix)) {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/ocsp-request')) return fail(res, 415, 'expected application/ocsp-request');
      if (Number(req.headers['content-length'] ?? 0) > MAX_OCSP_REQUEST_BYTES) return tooLarge(req, res);
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_OCSP_REQUEST_BYTES) tooLarge(req, res);
        else chunks.push(c);
      });
      req.on('end', () => size <= MAX_OCSP_REQUEST_BYTES && serveOcsp(res, Buffer.concat(chunks, size)));
      return;
    }
    if (req.method === 'GET' && path.startsWith(ocspPrefix)) {
      // Appendix A.1: the path is the URL-encoded base64 of the DER request; a bad encoding or an
      // oversized path is an OCSP malformedRequest (what a client parses), not an HTTP error.
      const der = decodeOcspGetSegment(path.slice(ocspPrefix.length));
      return der ? serveOcsp(res, der) : answer(res, ocspErrorResponse('malformedRequest'));
    }
    const crl = req.method === 'GET' || req.method === 'HEAD' ? (path === deps.crlPath ? deps.crl() : deps.otherCrls?.(path)) : undefined;
    if (crl !== undefined) {
      if (!crl) return fail(res, 503, 'no CRL issued yet');
      res.writeHead(200, {
        'content-type': 'application/pkix-crl',
        'content-length': crl.der.length,
        'last-modified': crl.thisUpdate.toUTCString(),
        // A cache may keep the CRL until its nextUpdate, no longer (RFC 5019 §6.2 in spirit).
        expires: crl.nextUpdate.toUTCString(),
      });
      return void res.end(req.method === 'HEAD' ? undefined : crl.der);
    }
    fail(res, 404, 'not found');
  };
}
