/**
 * Target `ocsp`: server/ca/ocsp-request.ts `parseOcspRequest` and server/ca/ocsp-responder.ts
 * `OcspResponder.respond`, the POST body of the public listener. Valid requests of every accepted
 * form with one field changed, lengths rewritten, nodes repeated or nested, plus noise. The
 * parser throws only MALFORMED_DER; respond never rejects and always answers a DER OCSPResponse
 * that says malformedRequest exactly when the parser refuses, and otherwise unauthorized, tryLater
 * or a signed answer echoing the CertID with the serial's true status; no internalError, nothing
 * reported through onError, and the response cache stays within its bounds.
 */
import { ocspBed, judgeOcspAnswer } from '../ocsp-bed.js';
import { describe, ensure, type FuzzTarget } from '../harness.js';
import { hostileDer } from '../mutate-bytes.js';

/** The target. */
export const ocspTarget: FuzzTarget<Uint8Array> = {
  name: 'ocsp',
  summary: 'parseOcspRequest + OcspResponder.respond (POST DER): malformedRequest exactly for refused requests, signed answers with the true status, bounded cache',
  heapBoundBytes: 32 * 1024 * 1024,
  async setup() {
    const bed = await ocspBed();
    return {
      arbitrary: hostileDer(bed.samples),
      async check(request) {
        const answer = await bed.responder.respond(request);
        ensure(bed.errors.length === 0, () => `responder reported ${describe(bed.errors[0])}`);
        return judgeOcspAnswer(bed, request, answer);
      },
      afterAll() {
        const c = bed.responder.cache;
        ensure(c.entries <= 3 * 8, `${c.entries} cache entries for 3 known serials (at most 8 forms each)`);
      },
      close() {},
    };
  },
};
