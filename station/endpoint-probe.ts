/**
 * Which chip an `--emulator HOST:PORT` endpoint serves, asked of the endpoint itself (issue 15:
 * the endpoint says which chip it serves). Neither protocol speaks first, so the probe is one
 * message both answer at once and differently:
 *
 *   04 00 00 11 0A "board:version()" 0A
 *
 * is a JRCP v1 TERMINAL_INFO message (MTY 04, NAD 00, 17 payload bytes), which a JRCP server
 * (the SE050 emulator, NXP's access manager) answers with a message of the same type: first byte
 * 04. To an ATECC608 kit server the same bytes are two ASCII lines: four bytes that parse as no
 * request (answered with an error status line) and `board:version()` (answered `00(...)`): first
 * byte printable ASCII. Harmless to both: no APDU, no chip selected, no state touched. Anything
 * else, or silence for `timeoutMs`, is ENDPOINT_PROTOCOL_UNKNOWN.
 */
import { connect, type Socket } from 'node:net';
import type { ChipKind } from '../common/chip-serial.js';
import { KeylineError } from '../common/errors.js';
import { encodeJrcp, JrcpType } from '../common/se05x/jrcp.js';
import type { Endpoint } from './chip-source.js';

/** The probe's bytes (see the file comment). */
export const ENDPOINT_PROBE = encodeJrcp(JrcpType.TERMINAL_INFO, new TextEncoder().encode('\nboard:version()\n'));

/** The chip an endpoint's first answer byte says it serves, or null when it is neither. */
export function chipOfProbeAnswer(first: number): ChipKind | null {
  if (first === JrcpType.TERMINAL_INFO) return 'se050';
  if (first >= 0x20 && first < 0x7f) return 'atecc608';
  return null;
}

/** Connects to `e`, sends the probe and reads which chip it serves. */
export async function probeEndpoint(e: Endpoint, opts: { timeoutMs?: number } = {}): Promise<ChipKind> {
  const where = `${e.host}:${e.port}`;
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: e.host, port: e.port, noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (err) => reject(new KeylineError('ENDPOINT_PROTOCOL_UNKNOWN', `cannot reach the emulator at ${where}: ${err.message}`, { cause: err })));
  });
  try {
    return await new Promise<ChipKind>((resolve, reject) => {
      const timer = setTimeout(() => reject(new KeylineError('ENDPOINT_PROTOCOL_UNKNOWN', `${where} answered neither the ATECC608 kit protocol nor JRCP v1 within ${opts.timeoutMs ?? 3000} ms`)), opts.timeoutMs ?? 3000);
      socket.once('data', (chunk: Buffer) => {
        clearTimeout(timer);
        const chip = chipOfProbeAnswer(chunk[0]!);
        if (chip) resolve(chip);
        else reject(new KeylineError('ENDPOINT_PROTOCOL_UNKNOWN', `${where} answered 0x${chunk[0]!.toString(16).padStart(2, '0')}...: neither the ATECC608 kit protocol nor JRCP v1`));
      });
      socket.once('close', () => {
        clearTimeout(timer);
        reject(new KeylineError('ENDPOINT_PROTOCOL_UNKNOWN', `${where} closed the connection without answering the probe`));
      });
      socket.write(ENDPOINT_PROBE);
    });
  } finally {
    socket.destroy();
  }
}
