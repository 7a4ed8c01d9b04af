/**
 * Runs command sessions on one chip the way cryptoauthlib's calib_execute_command does: wake,
 * command(s), idle; retries on link failures a bounded number of times; one session at a time.
 */
import { SecureElementError } from '../common/errors.js';
import { decodeResponse, encodeCommand } from './packet.js';
import { execTimeMs, type ClockDivider } from './exec-times.js';
import { isRetryable, notExecuted, statusError, Status } from './status.js';
import type { Transport } from './transport.js';

/** What a session may do: send commands between the wake and the idle. */
export interface Session {
  /**
   * Sends one command and returns the response data. A 4-byte status response that is not
   * success throws the mapped SecureElementError, unless `accept` takes that status byte as data
   * (Verify's 00/01 verdict, SelfTest's bitmap).
   */
  command(opcode: number, param1: number, param2: number, data: Uint8Array | undefined, label: string, opts?: CommandOptions): Promise<Uint8Array>;
}

/** Per-command options. */
export interface CommandOptions {
  /** Status bytes to return as data instead of throwing (Verify's 01 verdict, SelfTest's bitmap). */
  accept?: (status: number) => boolean;
  /** Required response data length. */
  expect?: number;
  /**
   * The command neither depends on nor feeds volatile state (a clear Read or Write): a link
   * failure is retried in place instead of restarting the whole session, so a 28-command config
   * write survives a noisy link.
   */
  standalone?: boolean;
}

/** How a session may be retried after a retryable failure. */
export type RetryPolicy =
  /** Retry on any retryable error: the session's commands are safe to repeat. */
  | 'idempotent'
  /** Retry only when the chip provably did not execute (bad CRC seen by the chip, wake failure). */
  | 'not-executed';

/** Options for CommandRunner. */
export interface RunnerOptions {
  /** Extra attempts after the first (default 3). */
  retries?: number;
  /** Clock divider for the execution-time table (default M0). */
  clock?: ClockDivider;
}

const WAKE_OK = Uint8Array.of(0x04, 0x11, 0x33, 0x43);

/** Wake/command/idle sequencing, retries and serialisation over one Transport. */
export class CommandRunner {
  readonly transport: Transport;
  readonly retries: number;
  clock: ClockDivider;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(transport: Transport, opts: RunnerOptions = {}) {
    this.transport = transport;
    this.retries = opts.retries ?? 3;
    this.clock = opts.clock ?? 'M0';
  }

  /** Runs `fn` between a wake and an idle, serialised with other sessions, retrying per `policy`. */
  run<T>(fn: (s: Session) => Promise<T>, policy: RetryPolicy = 'idempotent'): Promise<T> {
    const result = this.#tail.then(() => this.#attempts(fn, policy));
    this.#tail = result.catch(() => undefined);
    return result;
  }

  async #attempts<T>(fn: (s: Session) => Promise<T>, policy: RetryPolicy): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(fn);
      } catch (err) {
        const again = attempt < this.retries && isRetryable(err) && (policy === 'idempotent' || notExecuted(err));
        if (!again) throw err;
        // A watchdog warning means the chip is about to sleep on its own: put it to sleep now so
        // the next wake starts a fresh watchdog period (datasheet §6.3.2).
        if ((err as SecureElementError).code === 'ATCA_WATCHDOG') await this.transport.sleep().catch(() => undefined);
      }
    }
  }

  async #once<T>(fn: (s: Session) => Promise<T>): Promise<T> {
    await this.#wake();
    try {
      return await fn(this.#session);
    } finally {
      // cryptoauthlib idles after every command whatever happened; a failed idle is not the
      // command's failure, and the next wake recovers the chip anyway.
      await this.transport.idle().catch(() => undefined);
    }
  }

  async #wake(): Promise<void> {
    const r = await this.transport.wake();
    if (r.length === 4 && r.every((b, i) => b === WAKE_OK[i])) return;
    if (r.length === 4 && r[1] === Status.SELFTEST_ERROR) {
      throw new SecureElementError('ATCA_SELFTEST_ERROR', 'wake: chip reports self-test failure (status 0x07)', { status: 0x07 });
    }
    throw new SecureElementError('ATCA_WAKE_FAILED', `wake: unexpected response ${Buffer.from(r).toString('hex') || '(empty)'}`);
  }

  readonly #session: Session = {
    command: async (opcode, param1, param2, data, label, opts = {}) => {
      if (!opts.standalone) return this.#send(opcode, param1, param2, data, label, opts);
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.#send(opcode, param1, param2, data, label, opts);
        } catch (err) {
          if (attempt >= this.retries || !isRetryable(err)) throw err;
          // The chip may have dozed off (watchdog) or never seen the frame: wake it again first.
          if ((err as SecureElementError).code === 'ATCA_WATCHDOG') await this.transport.sleep().catch(() => undefined);
          await this.#wake();
        }
      }
    },
  };

  async #send(opcode: number, param1: number, param2: number, data: Uint8Array | undefined, label: string, opts: CommandOptions): Promise<Uint8Array> {
    const packet = encodeCommand({ opcode, param1, param2, data: data ?? new Uint8Array() });
    const raw = await this.transport.transact(packet, execTimeMs(opcode, this.clock));
    let rsp;
    try {
      rsp = decodeResponse(raw);
    } catch (err) {
      // A mangled response is a link failure: the same recovery as a CRC error.
      const code = (err as SecureElementError).code === 'ATCA_CRC_ERROR' ? 'ATCA_CRC_ERROR' : 'ATCA_COMM_ERROR';
      throw new SecureElementError(code, `${label}: ${(err as Error).message}`, { cause: err });
    }
    if (rsp.status !== undefined && !opts.accept?.(rsp.status)) {
      const e = statusError(rsp.status, label);
      if (e) throw e;
    }
    if (opts.expect !== undefined && rsp.data.length !== opts.expect) {
      throw new SecureElementError('ATCA_BAD_RESPONSE', `${label}: expected ${opts.expect} response bytes, got ${rsp.data.length}`);
    }
    return rsp.data;
  }
}
