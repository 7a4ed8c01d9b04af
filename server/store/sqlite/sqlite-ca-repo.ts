/**
 * The CA lifecycle state on SQLite (migration 009): activations of issuing CAs, the root's CRLs
 * and the ceremony transcript entries already imported into the audit log.
 */
import { KeylineError } from '../../../common/errors.js';
import type { CaRepo } from '../store.js';
import { toCaActivation, toRootCrl, type Row } from '../rows.js';
import type { SqliteTxContext } from './sqlite-tx-context.js';

/** Activations, root CRLs and imported transcript entries. */
export function createCaRepo(c: SqliteTxContext): CaRepo {
  const { s, run } = c;
  return {
    addActivation: (a) => run(`ca activation ${a.keyId}`, () => toCaActivation(s.caActivationInsert.get(a.keyId, a.activateAt, a.actor, c.now()) as Row)),
    activations: () => run('ca activations', () => (s.caActivations.all() as Row[]).map(toCaActivation)),
    lastActivationSeq: () => run('ca activation seq', () => s.caActivationLastSeq.get() as number),
    saveRootCrl: (r) => run(`root crl ${r.number}`, () => {
      if (s.rootCrlInsert.run(r.number, r.thisUpdate, r.nextUpdate, r.der, c.now(), r.number).changes !== 1) {
        throw new KeylineError('CRL_NOT_NEWER', `root CRL number ${r.number}: not greater than the newest stored root CRL's`, { detail: { number: r.number } });
      }
    }),
    latestRootCrl: () => run('root crl latest', () => {
      const r = s.rootCrlLatest.get() as Row | undefined;
      return r ? toRootCrl(r) : null;
    }),
    markTranscriptEntry: (id, seq, hash) => run(`transcript ${id} #${seq}`, () => s.ceremonyImportInsert.run(id, seq, hash, c.now()).changes === 1),
  };
}
