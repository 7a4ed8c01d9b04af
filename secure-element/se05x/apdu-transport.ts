/**
 * The SE05x physical-link seam: one C-APDU out, one R-APDU back, no command knowledge (as
 * Transport is for the ATECC608's kit frames). JRCP over TCP, T=1 over I²C and the emulator's
 * in-process link implement it.
 */
export interface ApduTransport {
  /** Sends one C-APDU; resolves with the whole R-APDU (data, SW1, SW2). Link failures reject with SE05X_COMM_ERROR. */
  transmit(capdu: Uint8Array): Promise<Uint8Array>;
  /** Ends the link. */
  close(): Promise<void>;
}
