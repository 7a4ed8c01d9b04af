/**
 * The ATECC608 model behind a ChipPort: frames in, frames out. Wake / idle / sleep and the
 * watchdog follow datasheet §"Sleep, idle and watchdog": the watchdog starts at wake and puts the
 * chip to sleep (volatile state lost) after about 1.3 s unless the host idles or sleeps it first.
 */
import type { ChipPort } from '../chip-port.js';
import { decodeCommand, encodeResponse, statusResponse, type Command } from '../../secure-element/packet.js';
import { COMMANDS } from './commands/index.js';
import { FaultInjector, type FaultOptions } from './faults.js';
import { Cfg, ChipState } from './state.js';
import { Status, type CommandResult } from './status.js';
import { execTimeMs, watchdogMs } from './timing.js';

/** Options of one chip model. */
export interface ChipOptions {
  /** Return the datasheet's maximum execution time as execMs (default false: 0). */
  timing?: boolean;
  faults?: FaultOptions;
  /** Clock in ms for the watchdog; injectable for deterministic tests. */
  now?: () => number;
}

const WAKE_RESPONSE = Uint8Array.of(0x04, 0x11, 0x33, 0x43);

/** One emulated ATECC608. */
export class Atecc608Chip implements ChipPort {
  readonly state: ChipState;
  private readonly timing: boolean;
  private readonly faults: FaultInjector;
  private readonly now: () => number;
  private awakeSince: number | undefined;
  /** Handler exceptions turned into 0x0F (a model bug, never a chip behaviour); tests assert it stays 0. */
  internalErrors = 0;

  constructor(state: ChipState, opts: ChipOptions = {}) {
    this.state = state;
    this.timing = opts.timing ?? false;
    this.faults = new FaultInjector(opts.faults);
    this.now = opts.now ?? Date.now;
  }

  /** The 9-byte serial number (config bytes 0-3 and 8-12). */
  get serialNumber(): Uint8Array {
    return this.state.serialNumber();
  }

  /** True while the chip is awake (woken, not idled or slept, watchdog not expired). */
  get awake(): boolean {
    this.checkWatchdog();
    return this.awakeSince !== undefined;
  }

  /** Wake pulse: answers 04 11 33 43 and starts the watchdog. */
  wake(): Uint8Array | null {
    this.checkWatchdog();
    if (!this.faults.inactive && this.faults.dropWake()) return null;
    // A wake pulse on an awake chip does not restart its watchdog.
    this.awakeSince ??= this.now();
    return WAKE_RESPONSE.slice();
  }

  /** Idle: stops the watchdog, keeps TempKey and the RNG seed; a wake is needed before the next command. */
  idle(): void {
    this.awakeSince = undefined;
  }

  /** Sleep: clears TempKey, the digest buffers and the SHA context. */
  sleep(): void {
    this.awakeSince = undefined;
    this.state.clearVolatile();
  }

  /** Executes one command frame; null when the chip is not awake (or an injected fault drops it). */
  execute(frame: Uint8Array): { response: Uint8Array | null; execMs: number } {
    this.checkWatchdog();
    if (this.awakeSince === undefined) return { response: null, execMs: 0 };
    const fault = this.faults.next();
    if (fault === 'no-response') return { response: null, execMs: 0 };
    if (fault === 'crc-status') return { response: statusResponse(Status.COMM_ERROR), execMs: 0 };
    const decoded = decodeCommand(frame);
    if (!decoded.ok) return { response: statusResponse(decoded.status), execMs: 0 };
    const { command } = decoded;
    const chipMode = this.state.config[Cfg.CHIP_MODE]!;
    const execMs = this.timing ? execTimeMs(command.opcode, chipMode) : 0;
    // Not enough watchdog time left to finish: the chip answers 0xEE instead of starting.
    if (this.timing && this.now() + execMs > this.awakeSince + watchdogMs(chipMode)) {
      return { response: statusResponse(Status.WATCHDOG), execMs: 0 };
    }
    let response: Uint8Array;
    if (fault === 'execution-error') {
      response = statusResponse(Status.EXECUTION_ERROR);
    } else {
      const result = this.run(command);
      response = typeof result === 'number' ? statusResponse(result) : encodeResponse(result);
    }
    if (fault === 'crc-response') response[response.length - 1]! ^= 0x5a;
    return { response, execMs };
  }

  private run(command: Command): CommandResult {
    const handler = COMMANDS.get(command.opcode);
    if (!handler) return Status.PARSE_ERROR;
    try {
      return handler(this, command);
    } catch {
      // A model bug must look like a chip failure on the wire, never crash the host.
      this.internalErrors++;
      return Status.EXECUTION_ERROR;
    }
  }

  private checkWatchdog(): void {
    if (this.awakeSince === undefined) return;
    if (this.now() - this.awakeSince >= watchdogMs(this.state.config[Cfg.CHIP_MODE]!)) this.sleep();
  }
}
