/**
 * One signer thread (signer-thread-source.ts) seen from the event loop: signatures asked for in
 * one loop turn leave in one message and come back in one, so C_Sign (58 µs quiet, over 100 µs
 * under load, ~15 % of the loop under issuance) runs on another core while the loop serves
 * requests. The thread is given the module path, the slot and the token's label, never the PIN.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { HsmError } from '../../common/errors.js';
import { SIGNER_THREAD_SOURCE } from './signer-thread-source.js';

/** What the thread must find to sign with a key. */
export interface ThreadKey {
  label?: string | undefined;
  id?: Uint8Array | undefined;
  /** Raw r‖s length: 64 for P-256, 96 for P-384. */
  sigLen: number;
}

/** 0: the bytes are the digest; 1 and 2: the thread hashes them with SHA-256 / SHA-384 first. */
export type HashMode = 0 | 1 | 2;

/** One sign asked of the thread; `failed` hands it to the caller's other way of signing. */
interface Pending {
  k: number;
  bytes: Uint8Array;
  mode: HashMode;
  resolve(sig: Uint8Array): void;
  reject(err: unknown): void;
  failed(message: string): void;
}

interface SignedMessage { t: 'signed'; seq: number; sigs: Uint8Array; ends: Int32Array; failed: Array<[number, string]> | null }

/** How a thread ended: it had never become ready (could not start), or it died after. */
export interface ThreadExit { started: boolean; code: number; error?: unknown; closing: boolean }

/** A running signer thread; `onExit` is told once when it ends, after its pending signs were rejected. */
export class SignerThread {
  #worker: Worker;
  #ready = false;
  #closing = false;
  #exited = false;
  #seq = 0;
  #queue: Pending[] = [];
  #flushScheduled = false;
  readonly #inFlight = new Map<number, Pending[]>();
  readonly #exit: Promise<void>;
  /** Resolves true once the thread's session is open, false if it ended before. */
  readonly started: Promise<boolean>;
  /** What the thread was started with (tests check no secret is in it). */
  readonly workerData: { pkcs11js: string; module: string; slot: Uint8Array; tokenLabel: string | undefined };
  /** Signatures the thread made (tests check the thread, not the fallback, did the work). */
  signed = 0;
  /** Messages sent with signatures to make: signed / batches is how well a loop turn groups them. */
  batches = 0;

  constructor(opts: { module: string; slot: Uint8Array; tokenLabel?: string | undefined; keys: ReadonlyMap<number, ThreadKey>; onExit: (e: ThreadExit) => void }) {
    // Where to find the module and the token, nothing more: no PIN (the session inherits the login).
    // The label lets the thread refuse a slot that now holds another token (slots are re-numbered).
    this.workerData = { pkcs11js: createRequire(import.meta.url).resolve('pkcs11js'), module: opts.module, slot: opts.slot, tokenLabel: opts.tokenLabel };
    this.#worker = new Worker(SIGNER_THREAD_SOURCE, { eval: true, workerData: this.workerData });
    // Held (ref) while starting and while signs are out, so a process awaiting one stays up; idle, it holds nothing.
    for (const [k, key] of opts.keys) this.addKey(k, key);
    let error: unknown;
    let started!: (ok: boolean) => void;
    this.started = new Promise((resolve) => { started = resolve; });
    this.#worker.on('error', (err) => { error = err; });
    this.#worker.on('message', (m: { t: 'ready' } | SignedMessage) => {
      if (m.t !== 'ready') return this.#answer(m);
      this.#ready = true;
      if (this.#inFlight.size === 0) this.#worker.unref();
      started(true);
    });
    this.#exit = new Promise((resolve) => this.#worker.once('exit', (code) => {
      this.#exited = true;
      const wasReady = this.#ready;
      this.#ready = false;
      const why = this.#closing ? 'the key store closed' : `the signer thread exited (code ${code})`;
      const err = (p: Pending): HsmError => new HsmError('HSM_ERROR', `signing with key #${p.k} failed: ${why}`, { cause: error });
      for (const batch of this.#inFlight.values()) for (const p of batch) p.reject(err(p));
      this.#inFlight.clear();
      // Not yet sent: the thread never saw them, so they may still be signed another way.
      for (const p of this.#queue.splice(0)) p.failed(why);
      started(false);
      opts.onExit({ started: wasReady, code, error, closing: this.#closing });
      resolve();
    }));
  }

  /** True once the thread's session is open and until it ends. */
  get ready(): boolean {
    return this.#ready && !this.#closing && !this.#exited;
  }

  /** Tells the thread about key number `k` (messages stay in order, so signs sent after it find it). */
  addKey(k: number, key: ThreadKey): void {
    this.#worker.postMessage({ t: 'key', k, label: key.label, id: key.id, sigLen: key.sigLen });
  }

  /**
   * Signs with key `k`. When the thread cannot sign this one (a PKCS#11 error, or the thread
   * ended before it was sent) the answer is `otherwise(why)`: the caller signs it in the loop,
   * which maps the error to the same typed error as ever.
   */
  sign(k: number, bytes: Uint8Array, mode: HashMode, otherwise: (why: string) => Promise<Uint8Array>): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      // Copied now (Buffer#slice would not copy): the caller may reuse its buffer before the batch leaves.
      this.#queue.push({ k, bytes: new Uint8Array(bytes), mode, resolve, reject, failed: (why) => resolve(otherwise(why)) });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // Everything asked in this loop turn goes in one message.
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Finishes what was sent, then ends the thread; terminates it after `deadlineMs`. */
  async close(deadlineMs = 2000): Promise<void> {
    if (this.#exited) return;
    this.#flush();
    this.#closing = true;
    this.#worker.postMessage({ t: 'close' });
    const timer = setTimeout(() => void this.#worker.terminate(), deadlineMs);
    await this.#exit;
    clearTimeout(timer);
  }

  /** Stops the thread at once (what a crash of the thread looks like to the loop). */
  async terminate(): Promise<void> {
    await this.#worker.terminate();
    await this.#exit;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue.splice(0);
    if (batch.length === 0 || this.#exited) {
      for (const p of batch) p.failed('the signer thread is gone');
      return;
    }
    let total = 0;
    for (const p of batch) total += p.bytes.length;
    // One fresh buffer of the exact size, so cloning copies just it (cheaper than a transfer at
    // these sizes: 12 against 15-18 µs of loop per round trip, measured).
    const data = new Uint8Array(total);
    const meta = new Int32Array(batch.length * 3);
    let at = 0;
    batch.forEach((p, i) => {
      data.set(p.bytes, at);
      at += p.bytes.length;
      meta[3 * i] = p.k;
      meta[3 * i + 1] = at;
      meta[3 * i + 2] = p.mode;
    });
    const seq = ++this.#seq;
    if (this.#inFlight.size === 0) this.#worker.ref();
    this.#inFlight.set(seq, batch);
    this.batches++;
    this.#worker.postMessage({ t: 'sign', seq, data, meta });
  }

  #answer(m: SignedMessage): void {
    const batch = this.#inFlight.get(m.seq);
    if (!batch) return;
    this.#inFlight.delete(m.seq);
    if (this.#inFlight.size === 0 && this.#ready) this.#worker.unref();
    const failed = new Map(m.failed ?? []);
    let start = 0;
    batch.forEach((p, i) => {
      const end = m.ends[i]!;
      const why = failed.get(i);
      if (why !== undefined) p.failed(why);
      else {
        this.signed++;
        p.resolve(m.sigs.subarray(start, end));
      }
      start = end;
    });
  }
}
