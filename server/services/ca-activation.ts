/**
 * Which issuing CA issues, decided from the activation rows alone (pure, so every process and
 * replica that reads the same rows at the same time decides the same). A row takes effect at
 * max(activateAt, createdAt); a row recorded before an earlier row took effect supersedes it
 * (re-scheduling or calling off a pending switch is one more `keyline ca activate`); among the
 * rows in effect, the one that took effect last wins. No row in effect: the first configured CA.
 */
import type { CaActivationRecord } from '../store/store.js';

/** When a row takes effect (ms). */
function effectiveAt(r: CaActivationRecord): number {
  return Math.max(Date.parse(r.activateAt), Date.parse(r.createdAt));
}

/** The row in effect at `now`, or undefined; and the next switch still pending after it, if any. */
export function activationAt(rows: readonly CaActivationRecord[], now: Date): { current?: CaActivationRecord; pending?: CaActivationRecord } {
  const t = now.getTime();
  let current: CaActivationRecord | undefined;
  let pending: CaActivationRecord | undefined;
  rows.forEach((r, i) => {
    const eff = effectiveAt(r);
    // Superseded: a later row was recorded before this one took effect.
    if (rows.slice(i + 1).some((later) => Date.parse(later.createdAt) < eff)) return;
    if (eff > t) pending = r;
    else if (!current || eff >= effectiveAt(current)) current = r;
  });
  return { ...(current ? { current } : {}), ...(pending ? { pending } : {}) };
}
