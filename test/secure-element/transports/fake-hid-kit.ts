/**
 * A fake Microchip HID kit for tests: checks each output report is what hal_kit_hid sends (65
 * bytes: report ID 0, the line bytes, zero padding), feeds whole lines to a kit server over an
 * in-memory stream, and returns its replies as 64-byte zero-padded input reports.
 */
import type { HidDeviceLike } from '../../../secure-element/transports/kit-hid.js';
import type { KitServer } from '../../../emulator/kit/kit-server.js';
import { duplexPair } from '../duplex-pair.js';

/** The fake kit. */
export class FakeHidKit implements HidDeviceLike {
  /** Every output report written, as sent. */
  readonly writes: Buffer[] = [];
  /** Framing violations seen (the test asserts this stays empty). */
  readonly violations: string[] = [];
  #line = '';
  #reports: Buffer[] = [];
  #wake: (() => void) | null = null;
  #host;
  closed = false;

  constructor(server: KitServer) {
    const [host, kit] = duplexPair();
    server.handle(kit);
    this.#host = host;
    host.on('error', () => undefined); // closing destroys the pair: an abort, not a failure
    let buf = '';
    host.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = Buffer.from(buf.slice(0, nl + 1), 'latin1');
        buf = buf.slice(nl + 1);
        for (let pos = 0; pos < line.length; pos += 64) {
          const r = Buffer.alloc(64);
          line.copy(r, 0, pos, Math.min(pos + 64, line.length));
          this.#reports.push(r);
        }
        this.#wake?.();
      }
    });
  }

  async write(values: number[] | Buffer): Promise<number> {
    const r = Buffer.from(values);
    this.writes.push(r);
    if (r.length !== 65) this.violations.push(`report of ${r.length} bytes`);
    if (r[0] !== 0) this.violations.push(`report ID ${r[0]}`);
    const body = r.subarray(1);
    const end = body.indexOf(0);
    const payload = end < 0 ? body : body.subarray(0, end);
    if (end >= 0 && body.subarray(end).some((b) => b !== 0)) this.violations.push('non-zero byte after padding');
    this.#line += payload.toString('latin1');
    const nl = this.#line.indexOf('\n');
    if (nl >= 0) {
      this.#host.write(this.#line.slice(0, nl + 1));
      this.#line = this.#line.slice(nl + 1);
    }
    return r.length;
  }

  async read(timeoutMs = 0): Promise<Buffer | undefined> {
    if (this.#reports.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
    return this.#reports.shift();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.#host.destroy();
  }
}
