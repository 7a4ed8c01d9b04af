/**
 * Issuance of one or many units in two steps, so the database write lock is never held while
 * the HSM signs (another process sharing the SQLite file would stall on it):
 *   1. a read-only pass applies the rules and signs a certificate for each unit that passes
 *      (the passes of concurrent calls share one read-only transaction: group-commit.ts);
 *   2. one write transaction (BEGIN IMMEDIATE, shared with concurrent calls: group-commit.ts)
 *      re-applies every rule to fresh rows, inserts the units that still pass, bumps the issued
 *      counts, appends the audit records, and commits.
 * A certificate is returned only after step 2 commits; a certificate signed in step 1 whose
 * unit lost a race in step 2 (quota, same serial) is discarded, never released.
 *
 * Both steps read a whole batch's rows at once and step 2 writes them with one statement per
 * table: on PostgreSQL every statement is a network round trip, made under
 * the write lock in step 2.
 */
import type { ChipKind } from '../../common/chip-serial.js';
import type { IssuedCertificate } from '../ca/device-issuer.js';
import { createGroupCommit } from './group-commit.js';
import { asError, readRows, replayOf, snapshotOf, type IssueDeps, type UnitOutcome } from './issuance.js';
import { evaluateIssue, type IssueRequest } from './policies.js';
import type { Tx } from '../store/store.js';
import { recordBatch, type Pending } from './record-units.js';

/** One request of a call, handed to the shared deciding transaction of step 1. */
interface Deciding {
  req: IssueRequest;
  i: number;
  call: { station: string; outcomes: (UnitOutcome | undefined)[]; toSign: { i: number; product: string; chip: ChipKind | undefined }[]; planned: Map<string, number> };
}

/**
 * Step 1 for the requests of every call gathered in one read-only transaction: the rules on a
 * snapshot, each call counting its own planned issues against the quota (as it would alone).
 */
async function decide(tx: Tx, items: Deciding[]): Promise<void> {
  const rows = await readRows(tx, items.map((d) => d.req));
  for (const { req, i, call } of items) {
    try {
      const s = snapshotOf(rows, req, call.station);
      if (s.workOrder) s.workOrder = { ...s.workOrder, issued: s.workOrder.issued + (call.planned.get(req.workOrder) ?? 0) };
      const { replay } = evaluateIssue(s);
      if (replay) call.outcomes[i] = replayOf(replay);
      else {
        call.planned.set(req.workOrder, (call.planned.get(req.workOrder) ?? 0) + 1);
        call.toSign.push({ i, product: s.workOrder!.product, chip: s.workOrder!.chip });
      }
    } catch (err) {
      call.outcomes[i] = { ok: false, error: asError(err) };
    }
  }
}

/** Builds the issue pipeline; returns `issueUnits(requests, station)`, one outcome per request. */
export function createIssuePipeline(deps: IssueDeps): (reqs: IssueRequest[], station: string) => Promise<UnitOutcome[]> {
  // Step 1 of every concurrent call shares read-only transactions, step 2 write transactions
  // (group commit): one BEGIN/COMMIT and one read of the rows per group, not per request.
  const decideShared = createGroupCommit<Deciding>({ store: deps.store, readOnly: true, maxItems: 1000, apply: decide });
  const record = createGroupCommit<Pending>({ store: deps.store, apply: (tx, items) => recordBatch(deps, tx, items) });

  return async function issueUnits(reqs, station) {
    const issuedAt = deps.now();
    const outcomes: (UnitOutcome | undefined)[] = new Array(reqs.length);
    const certs: (IssuedCertificate | undefined)[] = new Array(reqs.length);

    // Step 1: decide on a snapshot; count this batch's own planned issues against the quota.
    const call: Deciding['call'] = { station, outcomes, toSign: [], planned: new Map() };
    await decideShared(reqs.map((req, i) => ({ req, i, call })));
    const { toSign } = call;

    // The HSM signs outside any write lock; the issuer's session pool runs these in parallel.
    await Promise.all(toSign.map(async ({ i, product, chip }) => {
      const req = reqs[i]!;
      try {
        // The work order's chip picks the certificate profile (ca/chip-device-issuer.ts).
        certs[i] = await deps.issuer.issue({ chip, chipSerial: Buffer.from(req.serial, 'hex'), publicKey: req.publicKey, product, issuedAt });
      } catch (err) {
        outcomes[i] = { ok: false, error: asError(err) };
      }
    }));

    // Step 2: re-decide on fresh rows and record, in a shared write transaction. Only a
    // duplicate key is looked at again among step-1 refusals (to audit it); the others stand.
    const at = issuedAt.toISOString();
    const items: Pending[] = [];
    reqs.forEach((req, i) => {
      const prior = outcomes[i];
      if (prior && (prior.ok || prior.error.code !== 'DUPLICATE_KEY')) return;
      items.push({ req, station, at, cert: certs[i], prior, done: (o) => { if (o) outcomes[i] = o; } });
    });
    if (items.length) await record(items);
    return outcomes.map((o) => o!);
  };
}
