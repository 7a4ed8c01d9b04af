/**
 * One OCSP URL for several issuing CAs (issue 19: a CA rotated out keeps answering for what it
 * issued): the request is parsed once and handed to the responder whose issuer name and key
 * hashes it names (RFC 6960 §4.1.1 CertID); a CertID no responder serves is `unauthorized`
 * (§2.3). Each CA keeps its own responder, cache and signing budget. Responders can be added
 * while serving (a CA loaded on activation).
 */
import { hasCode } from '../../common/errors.js';
import { parseOcspRequest, type OcspCertId } from './ocsp-request.js';
import type { OcspResponder } from './ocsp-responder.js';
import { ocspErrorResponse } from './ocsp-response.js';

type Stats = OcspResponder['stats'];

/** Routes DER OCSP requests to the responder of the issuer they name; never throws. */
export class OcspRouter {
  readonly #responders: OcspResponder[] = [];
  // Refusals and failures decided here, before any responder is chosen.
  readonly #own = { errors: 0, noncesIgnored: 0, malformed: 0, unauthorized: 0 };

  constructor(private readonly onError?: (err: unknown) => void) {}

  /** Serves `r`'s issuer from now on. */
  add(r: OcspResponder): void {
    this.#responders.push(r);
  }

  /** The DER OCSPResponse for a DER OCSPRequest. */
  async respond(requestDer: Uint8Array): Promise<Buffer> {
    let c: OcspCertId;
    try {
      const req = parseOcspRequest(requestDer);
      c = req.certId;
      if (req.hasNonce) this.#own.noncesIgnored++;
    } catch (err) {
      if (hasCode(err, 'MALFORMED_DER')) {
        this.#own.malformed++;
        return ocspErrorResponse('malformedRequest');
      }
      this.#own.errors++;
      this.onError?.(err);
      return ocspErrorResponse('internalError');
    }
    const r = this.#responders.find((x) => x.serves(c));
    if (!r) {
      this.#own.unauthorized++;
      return ocspErrorResponse('unauthorized');
    }
    return r.answer(c);
  }

  /** Drops cached answers about a serial from every responder (after a revocation). */
  invalidate(serialHex: string): void {
    for (const r of this.#responders) r.invalidate(serialHex);
  }

  /** The counters of every responder and of the router, summed (OcspResponder.stats' shape). */
  get stats(): Stats {
    const o = this.#own;
    const s: Stats = { hits: 0, coalesced: 0, signed: 0, errors: o.errors, noncesIgnored: o.noncesIgnored, refused: { malformed: o.malformed, unauthorized: o.unauthorized, tryLater: 0 } };
    for (const r of this.#responders) {
      const x = r.stats;
      s.hits += x.hits; s.coalesced += x.coalesced; s.signed += x.signed; s.errors += x.errors; s.noncesIgnored += x.noncesIgnored;
      s.refused.malformed += x.refused.malformed; s.refused.unauthorized += x.refused.unauthorized; s.refused.tryLater += x.refused.tryLater;
    }
    return s;
  }

  /** Cache sizes of every responder, summed. */
  get cache(): { entries: number; bytes: number; evictions: number } {
    const c = { entries: 0, bytes: 0, evictions: 0 };
    for (const r of this.#responders) {
      c.entries += r.cache.entries; c.bytes += r.cache.bytes; c.evictions += r.cache.evictions;
    }
    return c;
  }
}
