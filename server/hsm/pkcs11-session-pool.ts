/**
 * A fixed set of logged-in PKCS#11 sessions on one token. Opening a session and logging in costs
 * ~1.2 ms (measured), so it happens once, not per request. When the token goes away underneath
 * (re-inserted, sessions closed, logged out) the pool reopens its sessions, logs in again and
 * retries the failed call once, so a server survives token re-insertion without a restart.
 */
import { availableParallelism } from 'node:os';
import pkcs11js from 'pkcs11js';
import { HsmError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import type { Pkcs11Module } from './pkcs11-module.js';
import { ckrName, HANDLE_LOST, SESSION_LOST, toHsmError } from './pkcs11-error.js';

/** Options of Pkcs11SessionPool.open. */
export interface SessionPoolOptions {
  module: Pkcs11Module;
  tokenLabel: string;
  /** The user PIN; kept in memory only to log in again after a token re-insertion. */
  pin: string;
  /** Number of sessions; defaults to the number of cores. */
  size?: number;
  log?: Logger;
}

/** Logged-in sessions on one token, handed out one caller at a time. */
export class Pkcs11SessionPool {
  readonly tokenLabel: string;
  readonly size: number;
  readonly #module: Pkcs11Module;
  readonly #pin: string;
  readonly #log: Logger;
  #slot!: Buffer;
  #all: Buffer[] = [];
  #free: Buffer[] = [];
  #waiters: Array<(s: Buffer | undefined) => void> = [];
  #generation = 0;
  #broken = false;
  #closed = false;

  private constructor(opts: SessionPoolOptions) {
    this.tokenLabel = opts.tokenLabel;
    this.size = opts.size ?? Math.max(1, availableParallelism());
    this.#module = opts.module;
    this.#pin = opts.pin;
    this.#log = (opts.log ?? silentLogger).child({ area: 'hsm', tokenLabel: opts.tokenLabel });
  }

  /** Opens `size` sessions on the token labelled `tokenLabel` and logs in once. */
  static open(opts: SessionPoolOptions): Pkcs11SessionPool {
    const pool = new Pkcs11SessionPool(opts);
    pool.#openAll();
    return pool;
  }

  /** The module this pool's sessions belong to. */
  get p11(): pkcs11js.PKCS11 {
    return this.#module.p11;
  }

  /** The token's current slot. */
  get slot(): Buffer {
    return this.#slot;
  }

  /** Increments each time the sessions are reopened; object handles cached before are stale. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Runs `fn` with a session of its own. On a lost session or login it recovers the pool and runs
   * `fn` once more; other failures become HsmError (HSM_ERROR) naming `what` and the CKR_*.
   */
  async run<T>(what: string, fn: (session: Buffer) => T | Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const { session, gen } = await this.#acquire();
      try {
        return await fn(session);
      } catch (err) {
        const ckr = ckrName(err);
        // A stale object handle after a logout or re-insertion also calls for a fresh login.
        if (attempt === 0 && ckr && (SESSION_LOST.has(ckr) || HANDLE_LOST.has(ckr))) {
          this.#log.warn({ ckr, what }, 'PKCS#11 session lost; reopening sessions and logging in again');
          this.#recover(gen);
          continue;
        }
        throw toHsmError(err, what);
      } finally {
        this.#release(session, gen);
      }
    }
  }

  /** Closes every session (logging the application out of the token). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w(undefined);
    this.#closeOwn();
  }

  /**
   * Closes only this pool's sessions: C_CloseAllSessions would also end the sessions of another
   * store on the same token in this process (which then logs in again by itself).
   */
  #closeOwn(): void {
    for (const s of this.#all) {
      try {
        this.p11.C_CloseSession(s);
      } catch {
        // Already invalid (token gone or closed underneath): nothing to release.
      }
    }
    this.#all = [];
    this.#free = [];
  }

  #openAll(): void {
    this.#slot = this.#module.findSlot(this.tokenLabel);
    const flags = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;
    const sessions: Buffer[] = [];
    try {
      for (let i = 0; i < this.size; i++) sessions.push(this.p11.C_OpenSession(this.#slot, flags));
    } catch (err) {
      throw toHsmError(err, `C_OpenSession on token '${this.tokenLabel}'`);
    }
    try {
      // Login state is per application and token (PKCS#11 v2.40 §5.6): one C_Login serves all sessions.
      this.#login(sessions[0]!);
    } catch (err) {
      for (const s of sessions) try { this.p11.C_CloseSession(s); } catch { /* best effort */ }
      const ckr = ckrName(err);
      const code = ckr && /PIN|USER/.test(ckr) ? 'HSM_LOGIN_FAILED' : 'HSM_ERROR';
      throw new HsmError(code, `C_Login to token '${this.tokenLabel}' failed: ${ckr ?? (err as Error).message}`, { ckr, cause: err });
    }
    this.#all = sessions;
    this.#free = [...sessions];
    this.#generation++;
    // Hand fresh sessions to anyone who queued while recovering.
    while (this.#waiters.length && this.#free.length) this.#waiters.shift()!(this.#free.pop()!);
  }

  #login(session: Buffer): void {
    try {
      this.p11.C_Login(session, pkcs11js.CKU_USER, this.#pin);
    } catch (err) {
      if (ckrName(err) !== 'CKR_USER_ALREADY_LOGGED_IN') throw err;
      // Another store in this process logged in; log in again so this pool's own PIN is checked too.
      // The calls are synchronous, so no other JS can sign in between.
      this.p11.C_Logout(session);
      this.p11.C_Login(session, pkcs11js.CKU_USER, this.#pin);
    }
  }

  #recover(failedGen: number): void {
    if (this.#generation !== failedGen) return; // someone else already reopened
    try {
      this.#closeOwn();
      this.#openAll();
      this.#broken = false;
    } catch (err) {
      // Token still absent: fail queued callers now and try again on the next call.
      this.#broken = true;
      for (const w of this.#waiters.splice(0)) w(undefined);
      throw err;
    }
  }

  async #acquire(): Promise<{ session: Buffer; gen: number }> {
    if (this.#closed) throw new HsmError('HSM_ERROR', `session pool of token '${this.tokenLabel}' is closed`);
    if (this.#broken) {
      this.#openAll();
      this.#broken = false;
    }
    const s = this.#free.pop() ?? (await new Promise<Buffer | undefined>((resolve) => this.#waiters.push(resolve)));
    if (!s) throw new HsmError('HSM_ERROR', `token '${this.tokenLabel}' is not available`);
    // Sessions handed out are always of the current generation (recovery replaces them all at once).
    return { session: s, gen: this.#generation };
  }

  #release(session: Buffer, gen: number): void {
    // A session from before a recovery is dead; the recovery already opened its replacement.
    if (gen !== this.#generation || this.#closed) return;
    const next = this.#waiters.shift();
    if (next) next(session);
    else this.#free.push(session);
  }
}
