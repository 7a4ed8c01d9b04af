/**
 * An ApduTransport over an emulated SE050 in the same process (as InProcessTransport is for the
 * ATECC608): C-APDUs go straight to ApduPort.transmit; with the chip's timing model on it waits
 * the modelled execution time. It lives with the emulator so secure-element/ never imports it.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import { SecureElementError } from '../../common/errors.js';
import type { ApduTransport } from '../../secure-element/se05x/apdu-transport.js';
import type { ApduPort } from '../apdu-port.js';

/** The in-process link to one ApduPort. */
export class InProcessApduTransport implements ApduTransport {
  readonly #chip: ApduPort;
  readonly #wait: boolean;
  #closed = false;

  constructor(chip: ApduPort, opts: { wait?: boolean } = {}) {
    this.#chip = chip;
    this.#wait = opts.wait ?? true;
  }

  /** The chip behind this link. */
  get chip(): ApduPort {
    return this.#chip;
  }

  async transmit(capdu: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw new SecureElementError('SE05X_COMM_ERROR', 'in-process SE050 link is closed');
    const { response, execMs } = this.#chip.transmit(capdu);
    if (this.#wait && execMs > 0) await sleepMs(execMs);
    if (!response) throw new SecureElementError('SE05X_COMM_ERROR', 'no response from the in-process SE050');
    return response;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
