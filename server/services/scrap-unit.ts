/**
 * Scrapping a quarantined unit (issue 18, the officer's other answer to a quarantine besides
 * release): the part is destroyed, so its certificate must never be trusted again. It is revoked
 * through the revocation service (reason cessationOfOperation, RFC 5280 §5.3.1: the CRL is
 * re-issued and OCSP answers revoked) and the scrapping is audited with the officer's note.
 */
import { KeylineError, ValidationError } from '../../common/errors.js';
import type { Actor } from '../../common/roles.js';
import type { Store } from '../store/store.js';
import type { RevokedCertificate } from './revocation.js';
import type { Revocation } from './revocation.js';

/** What scrapping needs. */
export interface ScrapDeps {
  store: Store;
  revocation: Pick<Revocation, 'revoke'>;
}

/** Builds scrapUnit. */
export function createScrap({ store, revocation }: ScrapDeps) {
  /** Revokes a quarantined unit's certificate and records it scrapped; only a security officer may. */
  return async function scrapUnit(serial: string, note: string, actor: Actor): Promise<RevokedCertificate> {
    if (!note.trim()) throw new ValidationError('VALIDATION_FAILED', 'reason: must not be empty');
    // The route table admits only officers; the rule is repeated here as releaseUnit repeats it.
    if (actor.role !== 'security-officer') throw new KeylineError('FORBIDDEN', `only a security officer may scrap unit ${serial}`, { detail: { serial } });
    const unit = await store.transaction((tx) => tx.units.getBySerial(serial), { readOnly: true });
    if (!unit) throw new KeylineError('UNKNOWN_UNIT', `serial: no unit ${serial}`, { detail: { serial } });
    if (unit.status !== 'quarantined') {
      throw new ValidationError('VALIDATION_FAILED', `status: unit ${serial} is ${unit.status}; only a quarantined unit is scrapped`, { detail: { serial, status: unit.status } });
    }
    // Revocation is idempotent and final: a release racing this leaves the unit revoked, never usable.
    const [revoked] = await revocation.revoke({ serial, reason: 'cessationOfOperation' }, actor.id);
    await store.transaction((tx) => tx.audit.append({ action: 'unit.scrapped', actor: actor.id, subject: serial, detail: { reason: note, certificateSerial: unit.certificateSerial, quarantineReason: unit.statusReason, role: actor.role } }));
    return revoked!;
  };
}
