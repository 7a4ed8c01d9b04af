/**
 * Loads a PKCS#11 module once per process and shares it: C_Initialize may run only once per
 * application (PKCS#11 v2.40 §5.4), so every key store in a process borrows the same instance and
 * the last one to release it calls C_Finalize.
 */
import { existsSync } from 'node:fs';
import pkcs11js from 'pkcs11js';
import { HsmError } from '../../common/errors.js';
import { toHsmError } from './pkcs11-error.js';

/** Where SoftHSM2 installs its module on Debian/Ubuntu (apt softhsm2) and macOS (Homebrew, MacPorts). */
export const SOFTHSM_PATHS = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
  '/usr/local/opt/softhsm/lib/softhsm/libsofthsm2.so',
  '/opt/local/lib/softhsm/libsofthsm2.so',
];

/** Finds SoftHSM2's module, or throws HSM_ERROR listing where it looked. */
export function detectSoftHsmModule(): string {
  const found = SOFTHSM_PATHS.find((p) => existsSync(p));
  if (!found) throw new HsmError('HSM_ERROR', `hsm.module: not set and SoftHSM2 not found in ${SOFTHSM_PATHS.join(', ')}`);
  return found;
}

/** A loaded and initialised module, shared by reference count. */
export interface Pkcs11Module {
  readonly p11: pkcs11js.PKCS11;
  readonly path: string;
  /** The slot holding the token with this label; HSM_ERROR when absent. */
  findSlot(tokenLabel: string): Buffer;
  /** Labels of the initialised tokens present. */
  tokenLabels(): string[];
  /** Gives the module back; the last release finalises it. */
  release(): void;
}

interface Loaded { p11: pkcs11js.PKCS11; path: string; softhsmConf?: string; refs: number }
let loaded: Loaded | undefined;

/**
 * Opens (or borrows) the module at `path` (default: SoftHSM2 auto-detected). `softhsmConf` is
 * exported as SOFTHSM2_CONF before C_Initialize, because SoftHSM reads it only then; asking for
 * another conf while the module is in use is refused rather than silently ignored.
 */
export function openPkcs11Module(opts: { path?: string; softhsmConf?: string } = {}): Pkcs11Module {
  const path = opts.path ?? detectSoftHsmModule();
  if (loaded) {
    if (loaded.path !== path || (opts.softhsmConf && loaded.softhsmConf !== opts.softhsmConf)) {
      throw new HsmError('HSM_ERROR', `PKCS#11 module ${loaded.path} (SOFTHSM2_CONF=${loaded.softhsmConf ?? '-'}) is in use; cannot also open ${path} (SOFTHSM2_CONF=${opts.softhsmConf ?? '-'}) in this process`);
    }
    loaded.refs++;
  } else {
    if (!existsSync(path)) throw new HsmError('HSM_ERROR', `hsm.module: ${path} does not exist`);
    if (opts.softhsmConf) process.env.SOFTHSM2_CONF = opts.softhsmConf;
    const p11 = new pkcs11js.PKCS11();
    try {
      p11.load(path);
      // CKF_OS_LOCKING_OK: without it (pkcs11js' default arguments) SoftHSM turns its own locks
      // off, and any second thread in the module (the signer thread, C_*Async) races on its state.
      p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (err) {
      throw toHsmError(err, `loading PKCS#11 module ${path}`);
    }
    loaded = { p11, path, softhsmConf: opts.softhsmConf, refs: 1 };
  }
  return handle(loaded);
}

function handle(l: Loaded): Pkcs11Module {
  let released = false;
  const labels = () =>
    l.p11.C_GetSlotList(true).flatMap((slot) => {
      let info;
      try {
        info = l.p11.C_GetTokenInfo(slot);
      } catch {
        // A token going away as we look (SoftHSM answers CKR_GENERAL_ERROR for one deleted under it) is not the one sought.
        return [];
      }
      return [{ slot, label: info.label.trimEnd(), initialised: (info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0 }];
    });
  return {
    p11: l.p11,
    path: l.path,
    findSlot(tokenLabel) {
      let all;
      try {
        all = labels();
      } catch (err) {
        throw toHsmError(err, 'C_GetSlotList');
      }
      const hit = all.find((s) => s.initialised && s.label === tokenLabel);
      if (!hit) throw new HsmError('HSM_ERROR', `no token labelled '${tokenLabel}' (present: ${all.filter((s) => s.initialised).map((s) => `'${s.label}'`).join(', ') || 'none'})`);
      return hit.slot;
    },
    tokenLabels: () => labels().filter((s) => s.initialised).map((s) => s.label),
    release() {
      if (released) return;
      released = true;
      if (--l.refs > 0) return;
      loaded = undefined;
      try {
        l.p11.C_Finalize();
      } finally {
        l.p11.close();
      }
    },
  };
}
