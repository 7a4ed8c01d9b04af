/**
 * What the outside sees of an emulated APDU chip (the SE050): a C-APDU in, an R-APDU out, never
 * a throw. The JRCP server and the in-process transport use only this, as the kit server uses
 * ChipPort for the ATECC608.
 */
export interface ApduPort {
  /** The chip's 18-byte unique id (object 7FFF0206). */
  readonly uid: Uint8Array;
  /** Answer-to-reset bytes a reader reports (JRCP WAIT_FOR_CARD). */
  atr(): Uint8Array;
  /** Power cycle: the applet is deselected, transient objects go. */
  reset(): void;
  /**
   * Executes one C-APDU. Returns the R-APDU (data + SW1 SW2), or null when an injected fault
   * swallows it, and the modelled execution time (0 with the timing model off) a link waits.
   */
  transmit(capdu: Uint8Array): { response: Uint8Array | null; execMs: number };
}
