/**
 * The physical-link seam (cryptoauthlib's hal/kit_phy split): bytes only, no command knowledge.
 * In-process, kit-over-TCP and kit-over-HID implement it and pass one shared test suite.
 */
export interface Transport {
  /** Wakes the device; resolves with the wake response (04 11 33 43 on a healthy chip). */
  wake(): Promise<Uint8Array>;
  /** Idle: keeps TempKey and the RNG seed, resets the watchdog. */
  idle(): Promise<void>;
  /** Sleep: clears volatile state. */
  sleep(): Promise<void>;
  /**
   * Sends one command packet (count byte through CRC, without the word-address byte) and
   * resolves with the raw response (count, data, CRC). `maxExecMs` is the command's datasheet
   * maximum execution time, used by links that must poll.
   */
  transact(packet: Uint8Array, maxExecMs: number): Promise<Uint8Array>;
  close(): Promise<void>;
}
