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
import type { PublishedCrl } from '../services/crl-publisher.js';

/** What the public listener serves. */
export interface PublicPkiDeps {
  /** URL path of the CRL (from ca.crlUrl), e.g. /crl/issuing.crl. */
  crlPath: string;
  /** URL path of the OCSP responder (from ca.ocspUrl), e.g. /ocsp. */
  ocspPath: string;
  crl: () => PublishedCrl | null;
  ocsp: OcspResponder;
  log: Logger;
}

/** Largest OCSP request body accepted (a request for 16 CertIDs with a nonce is well under 2 KiB). */
const MAX_REQUEST_BYTES = 8192;

/** Builds the request handler for node:http's createServer. */
export function publicPkiHandler(deps: PublicPkiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const ocspPrefix = deps.ocspPath.endsWith('/') ? deps.ocspPath : `${deps.ocspPath}/`;
  const answer = (res: ServerResponse, der: Buffer, extra: Record<string, string> = {}) => {
    res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': der.length, ...extra });
    res.end(der);
  };
  const fail = (res: ServerResponse, status: number, text: string) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${text}\n`);
  };
  const serveOcsp = (res: ServerResponse, body: Buffer) => {
    deps.ocsp.respond(body).then((der) => answer(res, der), (err) => {
      deps.log.error({ err }, 'ocsp failed');
      fail(res, 500, 'internal error');
    });
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0]!;
    if (req.method === 'POST' && (path === deps.ocspPath || path === ocspPrefix)) {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/ocsp-request')) return fail(res, 415, 'expected application/ocsp-request');
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_REQUEST_BYTES) {
          fail(res, 413, 'request too large');
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => size <= MAX_REQUEST_BYTES && serveOcsp(res, Buffer.concat(chunks)));
      return;
    }
    if (req.method === 'GET' && path.startsWith(ocspPrefix)) {
      // Appendix A.1: the path is the URL-encoded base64 of the DER request (slashes may stay raw).
      let der: Buffer;
      try {
        der = Buffer.from(decodeURIComponent(path.slice(ocspPrefix.length)), 'base64');
      } catch {
        return fail(res, 400, 'bad encoding');
      }
      return serveOcsp(res, der);
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && path === deps.crlPath) {
      const crl = deps.crl();
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
