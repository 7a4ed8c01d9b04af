/**
 * Target `se-host`: the host side that reads what a chip or a kit sends back, which a bad part,
 * a noisy bus or a hostile board controls. AteccDevice's typed commands over a transport that
 * forwards to an emulated chip and mangles chosen answers (bit flips, truncation, CRC-valid
 * frames of the wrong length or content, any status byte, a bad wake); decodeResponse on raw
 * bytes; the kit reply parsers and the HID line assembler; and atcacert: rebuildCertificate from
 * a mutated 72-byte compressed certificate, key and serial, and compressCertificate on mutated
 * DER. Every refusal must be a typed SecureElementError / KeylineError of the secure-element
 * codes; every rebuilt certificate must be DER that node:crypto parses.
 */
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import type { Atecc608Chip } from '../../emulator/atecc608/chip.js';
import type { ErrorCode } from '../../common/errors.js';
import { compressCertificate, deviceCertDef, rebuildCertificate, type CertDef } from '../../secure-element/atcacert/index.js';
import { AteccDevice, Zone } from '../../secure-element/device.js';
import { decodeResponse, encodeResponse } from '../../secure-element/packet.js';
import type { Transport } from '../../secure-element/transport.js';
import { HidLineAssembler, parseDeviceLine, parseKitReply } from '../../secure-element/transports/kit-framing.js';
import { createTemplateDeviceIssuer } from '../../server/ca/template-device-issuer.js';
import { makeTestPki } from '../../test/secure-element/atcacert/ca-fixture.js';
import { chipFrom, chipImages } from '../chip-frames.js';
import { clip, describe, ensure, expectTypedError, FuzzFinding, type FuzzTarget } from '../harness.js';
import { applyByteEdits, hostileDer, mutatedBytes } from '../mutate-bytes.js';
import type { ChipImage } from '../../emulator/atecc608/image.js';

const SE_CODES: readonly ErrorCode[] = [
  'ATCA_MISCOMPARE', 'ATCA_PARSE_ERROR', 'ATCA_ECC_FAULT', 'ATCA_SELFTEST_ERROR', 'ATCA_HEALTH_TEST_ERROR', 'ATCA_EXECUTION_ERROR',
  'ATCA_WAKE_FAILED', 'ATCA_WATCHDOG', 'ATCA_COMM_ERROR', 'ATCA_CRC_ERROR', 'ATCA_TIMEOUT', 'ATCA_BAD_RESPONSE', 'ATCA_BAD_PARAM',
];
const CERT_CODES: readonly ErrorCode[] = ['ATCACERT_INVALID', 'ATCACERT_TEMPLATE_MISMATCH'];

/** How the transport spoils the n-th answer of a session. */
type Spoil =
  | { at: number; how: 'edit'; edits: Parameters<typeof applyByteEdits>[1] }
  | { at: number; how: 'frame'; data: Uint8Array }
  | { at: number; how: 'status'; status: number }
  | { at: number; how: 'empty' };

/** The device calls driven, each with fixed, valid arguments. */
const CALLS: Array<(d: AteccDevice) => Promise<unknown>> = [
  (d) => d.info(), (d) => d.serialNumber(), (d) => d.readConfigZone(), (d) => d.isLocked('config'), (d) => d.isLocked('data'),
  (d) => d.isSlotLocked(3), (d) => d.random(), (d) => d.nonceRandom(new Uint8Array(20)), (d) => d.genKey(0), (d) => d.getPublicKey(0),
  (d) => d.signDigest(0, new Uint8Array(32).fill(7)), (d) => d.counterRead(0), (d) => d.counterIncrement(1), (d) => d.sha256(new Uint8Array(130).fill(1)),
  (d) => d.selfTest(), (d) => d.readPublicKeySlot(11), (d) => d.readSlot(8), (d) => d.read(Zone.DATA, 8, 0, 0, 32), (d) => d.updateExtra(0, 5),
  (d) => d.lockConfigZone(), (d) => d.verifyExtern(new Uint8Array(32), new Uint8Array(64).fill(1), new Uint8Array(64).fill(2)),
];

type Input =
  | { kind: 'device'; state: number; call: number; wakeBad: boolean; spoils: Spoil[] }
  | { kind: 'frame'; bytes: Uint8Array }
  | { kind: 'kit-line'; line: string }
  | { kind: 'hid'; reports: Uint8Array[] }
  | { kind: 'rebuild'; compressed: Uint8Array; publicKey: Uint8Array; chipSerial: Uint8Array | null; verify: boolean }
  | { kind: 'compress'; der: Uint8Array };

/** A transport over an emulated chip that spoils chosen answers. */
class SpoilingTransport implements Transport {
  #n = 0;
  constructor(private readonly chip: Atecc608Chip, private readonly spoils: Spoil[], private readonly wakeBad: boolean) {}
  async wake(): Promise<Uint8Array> {
    const r = this.chip.wake() ?? new Uint8Array();
    return this.wakeBad && this.#n === 0 ? Uint8Array.of(0x04, 0x07, 0x00, 0x00) : r;
  }
  async idle(): Promise<void> {
    this.chip.idle();
  }
  async sleep(): Promise<void> {
    this.chip.sleep();
  }
  async transact(packet: Uint8Array): Promise<Uint8Array> {
    const n = this.#n++;
    const real = this.chip.execute(packet).response ?? new Uint8Array();
    const s = this.spoils.find((x) => x.at === n);
    if (!s) return real;
    if (s.how === 'edit') return applyByteEdits(real, s.edits);
    if (s.how === 'frame') return encodeResponse(s.data);
    if (s.how === 'status') return encodeResponse(Uint8Array.of(s.status));
    return new Uint8Array();
  }
  async close(): Promise<void> {}
}

const spoil: fc.Arbitrary<Spoil> = fc.oneof(
  fc.record({ at: fc.nat(6), how: fc.constant('edit' as const), edits: fc.array(fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
  ), { minLength: 1, maxLength: 2 }) }),
  fc.record({ at: fc.nat(6), how: fc.constant('frame' as const), data: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 31, 32, 33, 63, 64, 65, 72).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), fc.uint8Array({ maxLength: 200 })) }),
  fc.record({ at: fc.nat(6), how: fc.constant('status' as const), status: fc.oneof(fc.constantFrom(0x00, 0x01, 0x03, 0x05, 0x07, 0x08, 0x0f, 0x11, 0xee, 0xff), fc.nat(255)) }),
  fc.record({ at: fc.nat(6), how: fc.constant('empty' as const) }),
);

/** A valid compressed certificate and everything needed to rebuild it. */
interface CertSample {
  def: CertDef;
  der: Uint8Array;
  compressed: Uint8Array;
  publicKey: Uint8Array;
  chipSerial: Uint8Array;
  issuerPublicKey: Uint8Array;
}

async function certSample(): Promise<CertSample> {
  const pki = await makeTestPki();
  const issuer = createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 10 });
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 64));
  const chipSerial = Uint8Array.from([0x01, 0x23, 0x6a, 0x1b, 0x9c, 0x44, 0x05, 0x77, 0xee]);
  const cert = await issuer.issue({ chipSerial, publicKey, product: 'Widget', issuedAt: new Date('2027-03-04T05:06:07Z') });
  const def = deviceCertDef({ issuingCaDer: pki.issuingDer, product: 'Widget', validityYears: 10 }, 'utc-utc');
  return { def, der: cert.der, compressed: compressCertificate(def, cert.der), publicKey, chipSerial, issuerPublicKey: pki.signer.publicKeyRaw };
}

function arbitrary(images: readonly ChipImage[], c: CertSample): fc.Arbitrary<Input> {
  const kitLine = fc.oneof(
    fc.stringMatching(/^[0-9A-Fa-f]{0,3}\([0-9A-Fa-f]{0,20}\)?\s*$/),
    fc.constantFrom('00()', 'E2()', '00(04113343)\r', 'ECC608 TWI 00(C0)', 'ECC608A TWI C0(C0)', 'ECC608 TWI 00(FFFFF)', ' ', '', '00(0)'),
    fc.string({ maxLength: 80 }),
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('device' as const), state: fc.nat(images.length - 1), call: fc.nat(CALLS.length - 1), wakeBad: fc.boolean(), spoils: fc.array(spoil, { maxLength: 3 }) }) },
    { weight: 1, arbitrary: mutatedBytes([encodeResponse(new Uint8Array(32)), encodeResponse(Uint8Array.of(0))]).map((bytes): Input => ({ kind: 'frame', bytes })) },
    { weight: 1, arbitrary: kitLine.map((line): Input => ({ kind: 'kit-line', line })) },
    { weight: 1, arbitrary: fc.array(fc.oneof(fc.uint8Array({ maxLength: 65 }), fc.constant(new Uint8Array(2100).fill(0x41))), { maxLength: 6 }).map((reports): Input => ({ kind: 'hid', reports })) },
    {
      weight: 3,
      arbitrary: fc.tuple(
        fc.oneof({ weight: 4, arbitrary: mutatedBytes([c.compressed], 2) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 72, maxLength: 72 }) }),
        fc.oneof({ weight: 3, arbitrary: fc.constant(c.publicKey) }, { weight: 1, arbitrary: mutatedBytes([c.publicKey], 1) }),
        fc.oneof({ weight: 3, arbitrary: fc.constant(c.chipSerial) }, { weight: 1, arbitrary: fc.option(mutatedBytes([c.chipSerial], 1)) }) as fc.Arbitrary<Uint8Array | null>,
        fc.boolean(),
      ).map(([compressed, publicKey, chipSerial, verify]): Input => ({ kind: 'rebuild', compressed, publicKey, chipSerial, verify })),
    },
    { weight: 2, arbitrary: hostileDer([c.der]).map((der): Input => ({ kind: 'compress', der })) },
  );
}

/** The target. */
export const seHostTarget: FuzzTarget<Input> = {
  name: 'se-host',
  summary: 'host-side parsers of chip/kit answers: AteccDevice over a spoiling transport, decodeResponse, kit reply/HID parsers, atcacert rebuild/compress',
  heapBoundBytes: 16 * 1024 * 1024,
  async setup() {
    const images = chipImages();
    const c = await certSample();
    return {
      arbitrary: arbitrary(images, c),
      async check(input) {
        switch (input.kind) {
          case 'device': {
            const device = new AteccDevice(new SpoilingTransport(chipFrom(images[input.state]!), input.spoils, input.wakeBad));
            try {
              await CALLS[input.call]!(device);
            } catch (err) {
              expectTypedError(err, `AteccDevice call ${input.call}`, SE_CODES);
            }
            return;
          }
          case 'frame':
            try {
              const r = decodeResponse(input.bytes);
              ensure(r.data.length === input.bytes.length - 3, 'decodeResponse data length');
            } catch (err) {
              expectTypedError(err, 'decodeResponse', ['ATCA_BAD_RESPONSE', 'ATCA_CRC_ERROR']);
            }
            return;
          case 'kit-line': {
            try {
              parseKitReply(input.line);
            } catch (err) {
              expectTypedError(err, 'parseKitReply', ['KIT_PROTOCOL_ERROR']);
            }
            const d = parseDeviceLine(input.line);
            ensure(d === null || (Number.isInteger(d.address) && d.address >= 0 && d.address <= 0xffff), () => `parseDeviceLine(${JSON.stringify(input.line)}) gave address ${d?.address}`);
            return;
          }
          case 'hid': {
            const a = new HidLineAssembler();
            try {
              for (const r of input.reports) a.push(r);
            } catch (err) {
              expectTypedError(err, 'HidLineAssembler.push', ['KIT_PROTOCOL_ERROR']);
            }
            return;
          }
          case 'rebuild': {
            let der: Uint8Array;
            try {
              der = rebuildCertificate(c.def, {
                publicKey: input.publicKey, compressed: input.compressed,
                ...(input.chipSerial ? { chipSerial: input.chipSerial } : {}), ...(input.verify ? { issuerPublicKey: c.issuerPublicKey } : {}),
              });
            } catch (err) {
              expectTypedError(err, 'rebuildCertificate', [...CERT_CODES, 'NOT_SUPPORTED']);
              return;
            }
            try {
              new X509Certificate(Buffer.from(der));
            } catch (err) {
              throw new FuzzFinding(`rebuildCertificate produced DER node:crypto refuses (${describe(err)}) from compressed ${Buffer.from(input.compressed).toString('hex')}`);
            }
            const same = [input.compressed, input.publicKey].every((b, i) => Buffer.from(b).equals(Buffer.from(i ? c.publicKey : c.compressed)));
            if (same && input.chipSerial && Buffer.from(input.chipSerial).equals(Buffer.from(c.chipSerial))) ensure(Buffer.from(der).equals(Buffer.from(c.der)), 'the unmutated inputs did not rebuild the issued certificate');
            return;
          }
          case 'compress':
            try {
              const comp = compressCertificate(c.def, input.der);
              // Compression is accepted only when rebuilding gives the same bytes back.
              ensure(comp.length === 72, 'compressed certificate is not 72 bytes');
            } catch (err) {
              expectTypedError(err, `compressCertificate(${clip(Buffer.from(input.der).toString('hex'), 80)})`, [...CERT_CODES, 'NOT_SUPPORTED']);
            }
        }
      },
      close() {},
    };
  },
};
