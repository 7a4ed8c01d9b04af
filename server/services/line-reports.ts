/**
 * What stations report about their line (issue 18): a pause while the server was unreachable,
 * told once the server answers again (while it was unreachable it could not be told). Recorded
 * in the audit log as station.paused, so the live line, the audit chain and every replica see it.
 */
import { ValidationError } from '../../common/errors.js';
import type { LinePause } from '../../common/protocol/operations.js';
import type { Actor } from '../../common/roles.js';
import type { Store } from '../store/store.js';

/** Builds reportPause over the store. */
export function createLineReports({ store, now = () => new Date() }: { store: Store; now?: () => Date }) {
  return {
    /** Records a station's pause; a pause that ends in the future or lasted over a week is refused. */
    async reportPause(actor: Actor, p: LinePause): Promise<{ recorded: true }> {
      const until = Date.parse(p.until);
      if (until > now().getTime() + 60_000) throw new ValidationError('VALIDATION_FAILED', `until: ${p.until} is in the future`);
      if (until - Date.parse(p.since) > 7 * 86_400_000) throw new ValidationError('VALIDATION_FAILED', 'since: a pause longer than a week is not a pause');
      await store.transaction((tx) => tx.audit.append({ action: 'station.paused', actor: actor.id, subject: actor.id, detail: { ...p } }));
      return { recorded: true };
    },
  };
}

/** The functions. */
export type LineReports = ReturnType<typeof createLineReports>;
