/**
 * Signing off the event loop for one key store: a signer thread (signer-thread.ts) that knows
 * every key the store handed out a Signer for, started when the first key is registered. Until
 * the thread is ready, and for good if it cannot start or keeps dying, signs run in the loop as
 * before (the caller's `inLoop`), so a missing thread costs speed, never a signature. A thread
 * that dies takes its in-flight signs with it (rejected with HSM_ERROR: they may or may not have
 * been signed) and is started again. The thread follows the key store's token: when the store
 * re-finds it in another slot (a token removed and put back, slots re-numbered), the thread is
 * started again on that slot, and signing goes back to it.
 */
import { silentLogger, type Logger } from '../../common/log.js';
import { SignerThread, type HashMode, type ThreadExit, type ThreadKey } from './signer-thread.js';

/** Deaths within DEATH_WINDOW_MS after which the store stops restarting its thread. */
const MAX_DEATHS = 3;
const DEATH_WINDOW_MS = 60_000;

/** What the thread needs to reach the token. */
export interface ThreadSigningOptions {
  /** The PKCS#11 module's path (already loaded and initialised in this process). */
  module: string;
  /** The token's current slot, as the key store last found it. */
  slot: () => Uint8Array;
  /** Counts the key store's re-openings of its token (each may have found it in another slot); default: never. */
  generation?: () => number;
  /** The token's label: the thread refuses a slot holding another token. */
  tokenLabel?: string;
  log?: Logger | undefined;
  /** ms close() waits for the thread to finish what it was sent before terminating it. */
  closeDeadlineMs?: number;
}

/** The signer thread of one key store, restarted on death, given up for the loop when it cannot run. */
export class ThreadSigning {
  readonly #opts: ThreadSigningOptions;
  readonly #log: Logger;
  readonly #keys = new Map<number, ThreadKey>();
  #thread: SignerThread | undefined;
  /** Threads leaving a slot the token left, finishing what they were sent. */
  readonly #leaving = new Set<Promise<void>>();
  /** The key store's generation and slot when the last thread was started. */
  #generation = 0;
  #slot: Uint8Array | undefined;
  #deaths: number[] = [];
  #givenUp = false;
  #closed = false;

  constructor(opts: ThreadSigningOptions) {
    this.#opts = opts;
    this.#log = (opts.log ?? silentLogger).child({ area: 'hsm' });
  }

  /** The running thread, if any (tests kill it to check recovery). */
  get thread(): SignerThread | undefined {
    return this.#thread;
  }

  /** True once signing has fallen back to the loop for good. */
  get givenUp(): boolean {
    return this.#givenUp;
  }

  /** Registers a key and returns its number; starts the thread on the first one. */
  register(key: ThreadKey): number {
    const k = this.#keys.size;
    this.#keys.set(k, key);
    if (this.#thread) this.#thread.addKey(k, key);
    else this.#start();
    return k;
  }

  /** Signs in the thread when it is ready, else (or when the thread cannot sign this one) with `inLoop`. */
  sign(k: number, bytes: Uint8Array, mode: HashMode, inLoop: () => Promise<Uint8Array>): Promise<Uint8Array> {
    if (this.#slot && this.#opts.generation && this.#opts.generation() !== this.#generation) this.#tokenReopened();
    const thread = this.#thread;
    if (!thread?.ready) {
      if (!thread) this.#start();
      return inLoop();
    }
    return thread.sign(k, bytes, mode, (why) => {
      this.#log.debug({ key: k, why }, 'signer thread could not sign; signing in the event loop');
      return inLoop();
    });
  }

  /** Resolves true when a thread is ready to sign, false when signing stays in the loop. */
  async ready(): Promise<boolean> {
    for (;;) {
      const thread = this.#thread;
      if (!thread) return false;
      if (await thread.started) return true;
    }
  }

  /** Ends the thread after what it was sent (terminated after the deadline); later signs run in the loop. */
  async close(): Promise<void> {
    this.#closed = true;
    const thread = this.#thread;
    await Promise.all(this.#leaving);
    if (!thread) return;
    // How well loop turns grouped signatures (~19 per message under bench:issue's single-unit load).
    this.#log.debug({ signed: thread.signed, batches: thread.batches }, 'HSM signer thread closing');
    await thread.close(this.#opts.closeDeadlineMs ?? 2000);
  }

  #start(): void {
    if (this.#thread || this.#givenUp || this.#closed || this.#keys.size === 0) return;
    this.#generation = this.#opts.generation?.() ?? 0;
    this.#slot = this.#opts.slot();
    try {
      const thread: SignerThread = new SignerThread({
        module: this.#opts.module, slot: this.#slot, tokenLabel: this.#opts.tokenLabel, keys: this.#keys, onExit: (e) => this.#exited(thread, e),
      });
      this.#thread = thread;
    } catch (err) {
      this.#giveUp('could not start', err);
    }
  }

  /**
   * The key store opened its token again since the thread started. In the same slot the thread
   * reopens its own session when it needs to; in another slot it is moved there: a new thread
   * on the new slot, the old one finishing what it was sent (signs it cannot make go to the
   * loop). A move is a fresh start: whatever made the thread give up may have been the old slot.
   */
  #tokenReopened(): void {
    this.#generation = this.#opts.generation!();
    const slot = this.#opts.slot();
    const from = this.#slot!;
    if (Buffer.from(slot).equals(Buffer.from(from))) return;
    this.#log.warn({ fromSlot: Buffer.from(from).toString('hex'), toSlot: Buffer.from(slot).toString('hex') }, 'HSM token found in another slot; moving the signer thread there');
    const old = this.#thread;
    this.#thread = undefined;
    if (old) {
      const leaving = old.close(this.#opts.closeDeadlineMs ?? 2000);
      this.#leaving.add(leaving);
      void leaving.finally(() => this.#leaving.delete(leaving));
    }
    this.#givenUp = false;
    this.#deaths = [];
    this.#start();
  }

  #exited(thread: SignerThread, e: ThreadExit): void {
    if (this.#thread !== thread) return; // one that left a slot, or already replaced
    this.#thread = undefined;
    if (e.closing || this.#closed) return;
    if (!e.started) return this.#giveUp('could not start', e.error);
    const now = Date.now();
    this.#deaths = [...this.#deaths.filter((t) => now - t < DEATH_WINDOW_MS), now];
    if (this.#deaths.length >= MAX_DEATHS) return this.#giveUp(`exited ${this.#deaths.length} times in ${DEATH_WINDOW_MS / 1000} s`, e.error);
    this.#log.warn({ code: e.code, err: e.error }, 'HSM signer thread exited; its pending signatures failed; restarting it');
    this.#start();
  }

  #giveUp(why: string, err: unknown): void {
    this.#givenUp = true;
    this.#log.warn({ err }, `HSM signer thread ${why}; signing on the event loop from now on`);
  }
}
