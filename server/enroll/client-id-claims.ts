/**
 * Who holds each client id on the embedded broker, and who may displace whom (issue 11 hole 4).
 * MQTT 3.1.1 §3.1.4-2 has a new connection with a connected client id take the session over;
 * aedes does so for anyone. Here only a certificate-authenticated connection (its client id is
 * its certificate's CN) may displace an earlier one; a connection known only by its client id
 * never displaces anybody, not even an earlier anonymous one, since nothing tells the two apart.
 *
 * Claims are made synchronously at the end of authentication, before aedes registers the
 * client, so two connections racing through the asynchronous checks cannot both win. aedes then
 * registers clients in claim order (the steps after authentication are the same for every device
 * connection: clean session, no Will), so a certificate claim made after an anonymous one also
 * registers after it and closes it, never the reverse.
 */

/** How a connection proved its client id. */
export type ClaimKind = 'certificate' | 'client-id';

/** The holders of client ids; C is the broker's connection object. */
export class ClientIdClaims<C extends object> {
  readonly #holders = new Map<string, { conn: C; kind: ClaimKind }>();
  readonly #isOpen: (conn: C) => boolean;

  /** `isOpen`: false once a holder's connection closed (its claim is then void). */
  constructor(isOpen: (conn: C) => boolean) {
    this.#isOpen = isOpen;
  }

  /**
   * Claims `id` for `conn`: true when granted (a certificate claim always is, displacing the
   * holder), false when an anonymous claim meets an open holder.
   */
  claim(id: string, conn: C, kind: ClaimKind): boolean {
    const holder = this.#holders.get(id);
    if (kind === 'client-id' && holder && holder.conn !== conn && this.#isOpen(holder.conn)) return false;
    this.#holders.set(id, { conn, kind });
    return true;
  }

  /** Ends `conn`'s claim on `id` (a later holder's claim is kept). */
  release(id: string, conn: C): void {
    if (this.#holders.get(id)?.conn === conn) this.#holders.delete(id);
  }

  /** How the current holder of `id` authenticated, or null when nobody holds it. */
  holderKind(id: string): ClaimKind | null {
    const h = this.#holders.get(id);
    return h && this.#isOpen(h.conn) ? h.kind : null;
  }
}
