/**
 * Target `se050`: emulator/se050 Se050Chip.transmit on hostile C-APDUs (random bytes, known
 * headers with random TLV bodies, valid commands with bytes flipped) on a new part and on a
 * provisioned one: never a throw, always an R-APDU ending in a status word the applet defines,
 * no handler exception inside the model. Also the JRCP v1 server fed arbitrary bytes in
 * arbitrary chunks: one reply per complete message, every APDU reply ending in a status word.
 */
import { duplexPair } from 'node:stream';
import fc from 'fast-check';
import { createManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import { JrcpDecoder } from '../../common/se05x/jrcp.js';
import { Sw } from '../../common/se05x/status-words.js';
import { createSe050Chip } from '../../emulator/se050/factory.js';
import { se050FromImage, se050Image, type Se050Image } from '../../emulator/se050/image.js';
import { InProcessApduTransport } from '../../emulator/se050/in-process-apdu-transport.js';
import { JrcpServer } from '../../emulator/se050/jrcp/jrcp-server.js';
import * as cmd from '../../secure-element/se05x/commands.js';
import { Se05xSecureElement } from '../../secure-element/se05x/se05x-secure-element.js';
import { Se05xDevice } from '../../secure-element/se05x/se05x-device.js';
import { clip, ensure, FuzzFinding, type FuzzTarget } from '../harness.js';

type Input = { kind: 'apdus'; state: number; apdus: Uint8Array[] } | { kind: 'jrcp'; bytes: Uint8Array; cuts: number[] };

const SWS = new Set<number>(Object.values(Sw));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Valid commands to mutate. */
const SEEDS: Uint8Array[] = [
  cmd.selectApplet(), cmd.getVersion(), cmd.getRandom(16), cmd.getFreeMemory(1), cmd.getTimestamp(), cmd.checkObjectExists(0x20000001),
  cmd.readObject(0x20000001), cmd.readObject(0x7fff0206, { offset: 2, length: 4 }), cmd.readObjectAttested(0x20000001, 0xf0000012, new Uint8Array(16)),
  cmd.readIdList(0), cmd.readCurveList(), cmd.createCurve(), cmd.generateEcKey(0x20000005), cmd.writeBinary(0x20000006, new Uint8Array(40), { size: 80 }),
  cmd.createCounter(0x20000007, 2), cmd.incrementCounter(0x20000004), cmd.ecdsaSign(0x20000001, new Uint8Array(32)), cmd.ecdsaVerify(0x20000001, new Uint8Array(32), Uint8Array.of(0x30, 0x06, 2, 1, 1, 2, 1, 1)),
  cmd.digestOneShot(new Uint8Array(10)), cmd.deleteSecureObject(0x20000002), cmd.readType(0x20000001), cmd.readSize(0x20000003),
];

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Uint8Array.from(b));
const tlvBody = fc.array(fc.tuple(fc.constantFrom(0x11, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47), bytes(40)), { maxLength: 5 })
  .map((ts) => Uint8Array.from(ts.flatMap(([tag, v]) => [tag, v.length, ...v])));
const structured = fc.tuple(fc.constantFrom(0x80, 0x00, 0x84), fc.constantFrom(0x01, 0x02, 0x03, 0x04, 0x22, 0x81, 0xa4, 0x61), fc.constantFrom(0x00, 0x01, 0x06, 0x08, 0x0b, 0x0c, 0x10, 0x21, 0x61), fc.nat(0x4f), tlvBody, fc.nat(2))
  .map(([cla, ins, p1, p2, body, form]) => Uint8Array.from([cla, ins, p1, p2, ...(form === 0 ? [body.length & 0xff] : [0, body.length >> 8, body.length & 0xff]), ...body, ...(form === 2 ? [0, 0] : [])]));
const mutated = fc.tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), fc.nat(3))
  .map(([seed, flips, cut]) => {
    const b = seed.slice(0, cut === 0 ? Math.max(0, seed.length - 1) : seed.length);
    for (const [at, x] of flips) if (b.length) b[at % b.length]! ^= x;
    return b;
  });
const apdu = fc.oneof({ weight: 1, arbitrary: bytes(64) }, { weight: 3, arbitrary: structured }, { weight: 4, arbitrary: mutated }, { weight: 1, arbitrary: fc.constantFrom(...SEEDS) });

/** Drives a JRCP server with `input` and returns what it wrote. */
function converse(image: Se050Image, input: { bytes: Uint8Array; cuts: number[] }): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const server = new JrcpServer({ chip: se050FromImage(image), honourTiming: false });
    const [host, side] = duplexPair();
    server.handle(side);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new FuzzFinding('the JRCP server never ended the connection')), 5000);
    host.on('data', (c: Buffer) => chunks.push(c));
    host.on('end', () => (clearTimeout(timer), resolve(new Uint8Array(Buffer.concat(chunks)))));
    let from = 0;
    for (const cut of [...input.cuts, 1]) {
      const to = Math.round(cut * input.bytes.length);
      if (to > from) host.write(input.bytes.subarray(from, to));
      from = Math.max(from, to);
    }
    host.end();
  });
}

/** The target. */
export const se050Target: FuzzTarget<Input> = {
  name: 'se050',
  summary: 'Se050Chip.transmit on hostile APDUs (new and provisioned parts): never throws, always a defined status word, no handler exception; the JRCP v1 server on arbitrary byte streams',
  heapBoundBytes: 24 * 1024 * 1024,
  async setup() {
    const root = await createManufacturerRoot({ org: 'Fuzz' });
    const fresh = await createSe050Chip({ root, applet: '3.1' });
    const provisioned = await createSe050Chip({ root, applet: '7.2' });
    const se = new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(provisioned)));
    await se.prepare();
    await se.generateKey();
    const images = [se050Image(fresh), se050Image(provisioned)];
    const jrcpMessage = fc.tuple(fc.constantFrom(0, 1, 1, 1, 3, 4, 7, 0x30, 0x99), apdu).map(([mty, p]) => Uint8Array.from([mty, 0, p.length >> 8, p.length & 0xff, ...p]));
    return {
      arbitrary: fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('apdus' as const), state: fc.nat(1), apdus: fc.array(apdu, { minLength: 1, maxLength: 8 }) }) },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('jrcp' as const),
            bytes: fc.oneof(bytes(80), fc.array(jrcpMessage, { maxLength: 5 }).map((ms) => Uint8Array.from(ms.flatMap((m) => [...m])))),
            cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }).map((c) => c.sort((a, b) => a - b)),
          }),
        },
      ),
      async check(input) {
        if (input.kind === 'apdus') {
          const chip = se050FromImage(images[input.state]!);
          chip.transmit(cmd.selectApplet());
          for (const a of input.apdus) {
            let r: Uint8Array | null;
            try {
              r = chip.transmit(a).response;
            } catch (err) {
              throw new FuzzFinding(`transmit threw on ${hex(a)}: ${(err as Error).message}`);
            }
            ensure(r !== null && r.length >= 2, () => `no status word for ${clip(hex(a), 200)}`);
            const sw = (r![r!.length - 2]! << 8) | r![r!.length - 1]!;
            ensure(SWS.has(sw), () => `undefined status word ${sw.toString(16)} for ${clip(hex(a), 200)}`);
            ensure(sw === Sw.OK || r!.length === 2, () => `data with error status ${sw.toString(16)}`);
          }
          ensure(chip.internalErrors === 0, 'a command handler threw inside the model');
          return;
        }
        const out = await converse(images[1]!, input);
        const replies = new JrcpDecoder().push(out);
        const sent = new JrcpDecoder().push(input.bytes);
        const answered = sent.filter((m) => !(m.mty === 3));
        const closeAt = sent.findIndex((m) => m.mty === 3);
        const expected = closeAt >= 0 ? closeAt + 1 : answered.length;
        ensure(replies.length === expected, () => `${expected} messages to answer, ${replies.length} replies`);
        for (const r of replies) if (r.mty === 1) ensure(r.payload.length >= 2, 'an APDU reply without a status word');
      },
      async close() {},
    };
  },
};
