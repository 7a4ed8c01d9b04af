/**
 * The line's certificate requests, in batches when several units are ready together: the first
 * unit goes out alone at once; units that become ready while a request is out wait for its
 * answer and then go together as one POST /v1/units:batch (at most 100). A line running one unit
 * at a time sends single requests as before, and a busy line needs one request, one server
 * transaction and one TLS round trip per group instead of one per unit (issue 13): the fastest
 * path the line's pace allows, without ever holding a unit back to wait for company.
 *
 * Each unit keeps its own outcome: its certificate, or its refusal as the ApiError a single
 * request would have thrown (the error table's HTTP status, so a 503 is waited out per unit by
 * the server gate above). A request that fails as a whole fails every unit in it the same way.
 * Every unit carries its journaled idempotency key, so a batch resent after a lost answer
 * returns the same certificates.
 */
import { ERROR_TABLE, type ErrorCode } from '../common/errors.js';
import type { KeyOriginEvidence } from '../common/protocol/key-origin.js';
import type { UnitIssued } from '../common/protocol/station-api.js';
import { ApiError, type StationApiClient } from './api-client.js';

/** One unit's certificate request, as UnitClient sends it. */
export interface IssueRequest {
  serial: string;
  publicKey: string;
  workOrder: string;
  idempotencyKey: string;
  /** The part's key-origin evidence (common/protocol/key-origin.ts), when it has some. */
  attestation?: KeyOriginEvidence;
}

/** The calls the batcher makes: a single issue, and batches when the API offers them. */
export type IssueApi = Pick<StationApiClient, 'issueUnit'> & Partial<Pick<StationApiClient, 'issueBatch'>>;

/** The most units in one batch (the server's MAX_BATCH). */
export const MAX_BATCH = 100;

interface Waiting {
  req: IssueRequest;
  resolve(r: UnitIssued): void;
  reject(err: unknown): void;
}

/** Sends the line's certificate requests, batching those that are ready together. */
export class IssueBatcher {
  #queue: Waiting[] = [];
  #inFlight = false;

  constructor(private readonly api: IssueApi) {}

  /** Asks for one unit's certificate; settles with that unit's own outcome. */
  issue(req: IssueRequest): Promise<UnitIssued> {
    // An API without batches (a test double, an older client): every unit on its own, at once.
    if (!this.api.issueBatch) return this.api.issueUnit(req);
    return new Promise<UnitIssued>((resolve, reject) => {
      this.#queue.push({ req, resolve, reject });
      if (!this.#inFlight) this.#send();
    });
  }

  #send(): void {
    const group = this.#queue.splice(0, MAX_BATCH);
    if (group.length === 0) return;
    this.#inFlight = true;
    const sent = group.length === 1 ? this.#single(group[0]!) : this.#batch(group);
    void sent.finally(() => {
      this.#inFlight = false;
      this.#send();
    });
  }

  // One unit ready: the single route, whose answer and errors are the unit's own.
  async #single(w: Waiting): Promise<void> {
    await this.api.issueUnit(w.req).then(w.resolve, w.reject);
  }

  async #batch(group: Waiting[]): Promise<void> {
    let answer;
    try {
      answer = await this.api.issueBatch!(group.map((w) => w.req));
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    group.forEach((w, i) => {
      const r = answer.results[i];
      if (!r) w.reject(new ApiError('BAD_SERVER_RESPONSE', `batch answer has ${answer.results.length} results for ${group.length} units`, 502));
      else if (r.ok) {
        const { ok: _ok, ...unit } = r;
        w.resolve({ ...unit, chainPem: r.chainPem ?? answer.chainPem });
      } else {
        const status = ERROR_TABLE[r.error.code as ErrorCode]?.http ?? 500;
        w.reject(new ApiError(r.error.code, r.error.message, status, r.error.detail));
      }
    });
  }
}
