/**
 * Status words to errors, in one place: refusals by policy or security state are SE05X_DENIED
 * (callers branch on them: a sign-only key refusing verify is the policy working), anything else
 * not 9000 is SE05X_STATUS_ERROR; both carry the status word in `status`.
 */
import { SecureElementError } from '../../common/errors.js';
import { Sw, swName } from '../../common/se05x/status-words.js';

const DENIED = new Set<number>([Sw.SECURITY_STATUS, Sw.INVALID_POLICY, Sw.CONDITIONS_NOT_SATISFIED, Sw.COMMAND_NOT_ALLOWED]);

/** The error for a non-9000 status word answered to `label`. */
export function swError(sw: number, label: string): SecureElementError {
  const code = DENIED.has(sw) ? 'SE05X_DENIED' : 'SE05X_STATUS_ERROR';
  return new SecureElementError(code, `${label}: status ${swName(sw)}`, { status: sw, detail: { sw: sw.toString(16).padStart(4, '0') } });
}
