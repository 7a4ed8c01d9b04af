/**
 * Hand-built MQTT 3.1.1 bytes over a raw TLS socket, for attacks mqtt.js would never send: a
 * PUBLISH header declaring a huge body, a Remaining Length with five continuation bytes, a
 * packet written slowly. MQTT 3.1.1 §2.2.3 (Remaining Length), §3.1 (CONNECT).
 */
import { connect, type TLSSocket } from 'node:tls';

/** The variable-length Remaining Length encoding of `n` (MQTT 3.1.1 §2.2.3). */
export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

const str = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

/** A CONNECT packet (clean session, keepalive 60 s) for `clientId`. */
export function connectPacket(clientId: string, o: { clean?: boolean } = {}): Buffer {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, o.clean === false ? 0 : 0x02, 0, 60]), str(clientId)]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** The fixed header and topic of a QoS 0 PUBLISH whose Remaining Length declares `declared` bytes. */
export function publishHead(topic: string, declared: number, flags = 0): Buffer {
  return Buffer.concat([Buffer.from([0x30 | flags]), remainingLength(declared), str(topic)]);
}

/** A complete QoS 0 PUBLISH. */
export function publishPacket(topic: string, payload: Buffer, flags = 0): Buffer {
  const body = Buffer.concat([str(topic), payload]);
  return Buffer.concat([Buffer.from([0x30 | flags]), remainingLength(body.length), body]);
}

/** A raw TLS connection to `mqtts://host:port` and a promise of its close. */
export async function rawTls(url: string, ca: string[], o: { cert?: string; key?: string } = {}): Promise<{ socket: TLSSocket; closed: Promise<void>; received: Buffer[] }> {
  const u = new URL(url);
  const socket = connect({ host: u.hostname, port: Number(u.port), ca, rejectUnauthorized: true, ...o });
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed, received };
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p.then(() => true), new Promise<boolean>((res) => (timer = setTimeout(() => res(false), ms)))]);
  clearTimeout(timer);
  return r;
}
