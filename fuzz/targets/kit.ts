/**
 * Target `kit`: emulator/kit/kit-server.ts, the ASCII kit protocol served on an in-memory Duplex.
 * Input: request lines (valid ones in every spelling the kit parser takes, with real command
 * frames; mutated ones; over-long lines; raw latin1 bytes) cut into arbitrary chunks, written, then
 * the host half-closes. Every complete line that is not blank (or is over 1,024 characters) gets
 * exactly one reply, in order, well formed; a `talk` answered 00 carries a CRC-valid chip frame;
 * the server never throws, never ends early and never leaves a chip with a handler failure.
 */
import { duplexPair } from 'node:stream';
import fc from 'fast-check';
import { KitServer } from '../../emulator/kit/kit-server.js';
import { decodeResponse } from '../../secure-element/packet.js';
import { KIT_LINE_MAX } from '../../secure-element/transports/kit-framing.js';
import { anyFrame, chipFrom, chipImages } from '../chip-frames.js';
import { clip, describe, ensure, FuzzFinding, type FuzzTarget } from '../harness.js';

interface Input {
  state: number;
  text: string;
  /** Cut points (fractions of the text length, sorted) where one write ends and the next begins. */
  cuts: number[];
}

const hexUp = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

/** A spelling of a kit word: whole, any prefix, any case (the firmware compares prefixes). */
function word(w: string): fc.Arbitrary<string> {
  return fc.tuple(fc.integer({ min: 1, max: w.length }), fc.constantFrom('lower', 'upper', 'as-is')).map(([n, c]) => {
    const s = w.slice(0, n);
    return c === 'lower' ? s.toLowerCase() : c === 'upper' ? s.toUpperCase() : s;
  });
}

const target = fc.oneof(word('ecc'), word('sha'), fc.constant('E'));
const hexArg = fc.oneof(fc.constantFrom('00', '01', '02', 'C0', 'c1', 'C2', 'FF', '100', '0', 'C0C0', ''), fc.stringMatching(/^[0-9A-Fa-f]{0,5}$/));

/** Lines the kit understands, with real chip frames in `talk`. */
const validLine: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(word('board'), word('device'), hexArg).map(([b, d, a]) => `${b}:${d}(${a})`),
  fc.tuple(word('board'), fc.oneof(word('version'), word('firmware'))).map(([b, v]) => `${b}:${v}()`),
  fc.tuple(target, word('physical'), word('select'), hexArg).map(([t, p, s, a]) => `${t}:${p}:${s}(${a})`),
  fc.tuple(target, word('physical'), word('interface')).map(([t, p, i]) => `${t}:${p}:${i}:i2c`),
  fc.tuple(target, fc.oneof(word('wake'), word('idle'), word('sleep'))).map(([t, v]) => `${t}:${v}()`),
  { arbitrary: fc.tuple(target, word('talk'), anyFrame).map(([t, v, f]) => `${t}:${v}(${hexUp(f)})`), weight: 4 },
);

/** A valid line with one character inserted, removed or replaced, or odd hex. */
const mutatedLine: fc.Arbitrary<string> = fc.tuple(validLine, fc.nat(), fc.constantFrom('(', ')', ':', ' ', '\0', '\r', 'Z', 'é', '\x7f', '', '((', '0'), fc.constantFrom('insert', 'replace'))
  .map(([l, at, c, op]) => {
    const i = at % (l.length + 1);
    return l.slice(0, i) + c + l.slice(op === 'insert' ? i : i + 1);
  });

const line: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: validLine },
  { weight: 4, arbitrary: mutatedLine },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\r', '\0\0', '\t \r') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(1024, 1025, 2000, 5000), fc.constantFrom('A', 'E:t(', '\0')).map(([n, c]) => c.repeat(Math.ceil(n / c.length)).slice(0, n)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')) },
);

/** Most sessions select a chip and wake it first, so `talk` lines reach the chip. */
const opening = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('E:physical:select(C0)\nE:w()\n', 'e:p:s(c1)\ne:w()\n') }, { weight: 1, arbitrary: fc.constant('') });

/** Lines joined by \n (sometimes \r\n), maybe ending in a partial line. */
const text: fc.Arbitrary<string> = fc.tuple(opening, fc.array(line, { minLength: 1, maxLength: 12 }), fc.boolean(), fc.boolean())
  .map(([open, lines, crlf, partial]) => open + lines.join(crlf ? '\r\n' : '\n') + (partial ? '' : '\n'));

/** The replies a host may expect for `text` (kit-server.ts: one per non-blank or over-long complete line). */
function expectedReplies(t: string): string[] {
  const lines = t.split('\n');
  lines.pop(); // the partial line after the last newline is never answered
  return lines.filter((l) => l.length > KIT_LINE_MAX || l.replace(/^[\s\0]+|[\s\0]+$/g, '') !== '');
}

const REPLY = /^[0-9A-F]{2}\(([0-9A-F]*)\)$/;
const DEVICE_LINE = /^ECC608 TWI 00\([0-9A-F]{2,4}\)$/;

/** Serves one connection and returns everything the kit wrote before ending it. */
function converse(kit: KitServer, input: Input): Promise<string> {
  return new Promise((resolve, reject) => {
    const [host, server] = duplexPair();
    kit.handle(server);
    host.setEncoding('latin1');
    let out = '';
    const timer = setTimeout(() => reject(new FuzzFinding(`kit never ended the connection; got ${clip(JSON.stringify(out), 300)}`)), 5000);
    host.on('data', (c: string) => (out += c));
    host.on('error', (err) => reject(new FuzzFinding(`host stream error ${describe(err)}`)));
    host.on('end', () => {
      clearTimeout(timer);
      resolve(out);
    });
    const bytes = Buffer.from(input.text, 'latin1');
    let from = 0;
    for (const cut of [...input.cuts, 1]) {
      const to = Math.round(cut * bytes.length);
      if (to > from) host.write(bytes.subarray(from, to));
      from = Math.max(from, to);
    }
    host.end();
  });
}

/** The target. */
export const kitTarget: FuzzTarget<Input> = {
  name: 'kit',
  summary: 'KitServer.handle(Duplex): ASCII kit lines in arbitrary chunks; one well-formed reply per request line, CRC-valid chip frames, the connection never dropped',
  heapBoundBytes: 16 * 1024 * 1024,
  async setup() {
    const images = chipImages();
    return {
      arbitrary: fc.record({
        state: fc.nat(images.length - 1),
        text,
        cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }).map((c) => c.sort((a, b) => a - b)),
      }),
      async check(input) {
        const chips = [chipFrom(images[input.state]!), chipFrom(images[2]!)];
        const kit = new KitServer({ chips, honourTiming: false });
        const out = await converse(kit, input);
        kit.close();
        const replies = out.split('\n');
        ensure(replies.pop() === '', () => `kit output does not end in a newline: ${clip(JSON.stringify(out), 200)}`);
        const requests = expectedReplies(input.text);
        ensure(replies.length === requests.length, () => `${requests.length} request lines, ${replies.length} replies: ${clip(JSON.stringify(replies), 400)}`);
        replies.forEach((r, i) => {
          const req = requests[i]!;
          const m = REPLY.exec(r);
          ensure(m || DEVICE_LINE.test(r), () => `malformed reply ${clip(JSON.stringify(r), 100)} to ${clip(JSON.stringify(req), 100)}`);
          // A talk the kit answered 00 carries the chip's frame: it must decode (count, CRC).
          if (m && r.startsWith('00(') && m[1] && /^[A-Za-z]+:[tT][A-Za-z]*\(/.test(req) && !/^[bB]/.test(req)) {
            try {
              decodeResponse(Buffer.from(m[1], 'hex'));
            } catch (err) {
              throw new FuzzFinding(`talk reply ${r} is not a chip frame (${describe(err)}) for ${clip(req, 100)}`);
            }
          }
        });
        ensure(chips.every((c) => c.internalErrors === 0), 'a chip command handler threw inside the model');
      },
      close() {},
    };
  },
};
