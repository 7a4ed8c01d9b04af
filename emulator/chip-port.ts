/**
 * What the outside sees of an emulated chip: frames in, frames out (as aedes answers with codes
 * instead of throwing). Transports and the kit server use only this.
 */
export interface ChipPort {
  /** The 9-byte serial number (config bytes 0-3 and 8-12). */
  readonly serialNumber: Uint8Array;
  /** Wake: the wake response (04 11 33 43), or null when an injected fault swallows it. */
  wake(): Uint8Array | null;
  /** Idle: keeps TempKey and the RNG seed. */
  idle(): void;
  /** Sleep: clears volatile state. */
  sleep(): void;
  /**
   * Executes one command frame (count byte through CRC). Returns the response frame, or null for
   * no response (injected fault), and the modelled execution time (0 when the timing model is off),
   * which a transport waits before answering.
   */
  execute(frame: Uint8Array): { response: Uint8Array | null; execMs: number };
}
