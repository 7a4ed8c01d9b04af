/**
 * The shared Transport suite: every link (in-process, kit over TCP, kit over HID through a fake
 * device) must pass it unchanged, as aedes-persistence's abstract suite does for its stores.
 */
import type { Test } from 'tap';
import { encodeCommand, decodeResponse } from '../../secure-element/packet.js';
import type { Transport } from '../../secure-element/transport.js';
import { AteccDevice } from '../../secure-element/device.js';
import { HIGH_COUNT_MATCH, TEST_CONFIG } from './fixtures.js';
import { lockSummaryCrc } from '../../secure-element/device.js';
import { createHash, createPublicKey, verify } from 'node:crypto';

/** Makes a transport to one fresh blank chip; the suite closes it. */
export type MakeTransport = () => Promise<Transport>;

const WAKE = [0x04, 0x11, 0x33, 0x43];

/** Runs the suite against `make`. */
export function transportSuite(t: Test, make: MakeTransport): void {
  t.test('wake answers 04 11 33 43', async (t) => {
    const tr = await make();
    t.teardown(() => tr.close());
    t.same([...(await tr.wake())], WAKE);
    await tr.idle();
  });

  t.test('transact carries a command and returns the whole response frame', async (t) => {
    const tr = await make();
    t.teardown(() => tr.close());
    await tr.wake();
    const rsp = decodeResponse(await tr.transact(encodeCommand({ opcode: 0x30, param1: 0, param2: 0, data: new Uint8Array() }), 5));
    t.same([...rsp.data], [0x00, 0x00, 0x60, 0x02], 'Info revision of a 608A');
    await tr.idle();
  });

  t.test('a frame with a bad CRC is answered by the chip with status 0xFF', async (t) => {
    const tr = await make();
    t.teardown(() => tr.close());
    await tr.wake();
    const frame = encodeCommand({ opcode: 0x30, param1: 0, param2: 0, data: new Uint8Array() });
    frame[frame.length - 1]! ^= 0xff;
    t.equal(decodeResponse(await tr.transact(frame, 5)).status, 0xff);
    await tr.idle();
  });

  t.test('a truncated frame (count larger than the bytes sent) is an error status, not a hang', async (t) => {
    const tr = await make();
    t.teardown(() => tr.close());
    await tr.wake();
    const frame = encodeCommand({ opcode: 0x02, param1: 0x80, param2: 0, data: new Uint8Array() }).subarray(0, 4);
    const st = decodeResponse(await tr.transact(frame, 5)).status;
    t.ok(st === 0xff || st === 0x03, `status 0x${st?.toString(16)}`);
    await tr.idle();
  });

  t.test('idle keeps TempKey, sleep clears it (pass-through Nonce then Sign)', async (t) => {
    const tr = await make();
    t.teardown(() => tr.close());
    const dev = new AteccDevice(tr);
    await dev.writeConfigZone(TEST_CONFIG);
    await dev.lockConfigZone(lockSummaryCrc(await dev.readConfigZone()));
    await dev.writeSlot(10, HIGH_COUNT_MATCH);
    await dev.lockDataZone();
    const pub = await dev.genKey(0);
    const digest = createHash('sha256').update('suite').digest();
    // Nonce in one wake/idle cycle, Sign in the next: TempKey survived the idle.
    await dev.nonceLoad(digest);
    await tr.wake();
    const sig = decodeResponse(await tr.transact(encodeCommand({ opcode: 0x41, param1: 0x80, param2: 0, data: new Uint8Array() }), 115)).data;
    await tr.idle();
    t.equal(sig.length, 64);
    const spki = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(pub.subarray(0, 32)).toString('base64url'), y: Buffer.from(pub.subarray(32)).toString('base64url') }, format: 'jwk' });
    t.ok(verify('sha256', Buffer.from('suite'), { key: spki, dsaEncoding: 'ieee-p1363' }, sig), 'node verifies the chip signature');
    // After a sleep, the same Sign has no valid TempKey: execution error.
    await dev.nonceLoad(digest);
    await tr.sleep();
    await tr.wake();
    const st = decodeResponse(await tr.transact(encodeCommand({ opcode: 0x41, param1: 0x80, param2: 0, data: new Uint8Array() }), 115)).status;
    t.equal(st, 0x0f);
    await tr.idle();
  });

  t.test('the driver runs a full session over the transport', async (t) => {
    const tr = await make();
    t.teardown(() => tr.close());
    const dev = new AteccDevice(tr);
    const sn = await dev.serialNumber();
    t.equal(sn.length, 9);
    t.same([sn[0], sn[1], sn[8]], [0x01, 0x23, 0xee]);
    t.equal((await dev.readConfigZone()).length, 128);
  });

  t.test('a closed transport refuses work with a typed error', async (t) => {
    const tr = await make();
    await tr.close();
    await t.rejects(tr.wake(), { code: /^ATCA_(COMM_ERROR|WAKE_FAILED)$/ });
  });
}
