/**
 * A simulated device's first (or any) power-on: load the chip image, learn and verify the
 * identity the line wrote into the chip, connect to the broker, prove possession of the chip key
 * with the signed challenge (counter moved and signature made inside the chip), verify the signed
 * configuration, and store it. Split in three so the fleet and the benchmark can hold many
 * connections open and time the enrollment exchange alone.
 */
import { X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KeylineError } from '../common/errors.js';
import type { ChipKind } from '../common/chip-serial.js';
import { enrollmentDigest, type EnrolledMessage } from '../common/protocol/enrollment.js';
import type { SecureElement } from '../secure-element/secure-element.js';
import type { ChipIdentity } from './chip-identity.js';
import { chipSerialHex, openDeviceChip, openEndpointChip, persistDeviceChip, readDeviceIdentity, type DeviceChip, type DeviceChipOptions } from './device-chip.js';
import { presentedCertificate } from './cloud/cloud-state.js';
import { verifyConfiguration } from './config-verify.js';
import { loadDeviceState, newDeviceState, saveDeviceState, stateFileFor, type DeviceState } from './device-state.js';
import { EnrollClient, EnrollmentRefusedError, type EnrollClientOptions } from './enroll-client.js';
import { loadTrust, type FirmwareTrust, type Trust } from './firmware-trust.js';

/** A device powered on: chip, identity and stored state, not yet connected. */
export interface PoweredDevice {
  /** The chip image, when the chip was loaded from one (else `chip.endpoint` says where it is). */
  chipFile?: string;
  stateFile: string;
  /** The chip (ATECC608 or SE050, by its image's format or its endpoint's scheme) and where it lives. */
  chip: DeviceChip;
  /** The chip's SecureElement driver (chip.se): counter and signature go through the seam. */
  dev: SecureElement;
  trust: Trust;
  identity: ChipIdentity;
  signer: X509Certificate;
  state: DeviceState;
}

/** What a boot ended in. */
export interface BootReport {
  serial: string;
  chip: ChipKind;
  outcome: 'enrolled' | 'reauthenticated';
  group: string;
  /** The chip's enrollment counter value the accepted proof carried (608 counter 0, SE050 object 20000004). */
  counter: number;
  /** SHA-256 of the device certificate (hex). */
  fingerprint: string;
  brokerUrl: string;
  protocolVersion: 4 | 5;
  /** Connect (TLS + CONNACK + SUBACK) time and hello-to-enrolled time, ms. */
  connectMs: number;
  enrollMs: number;
  stateFile: string;
}

/** Where the firmware's trust comes from at first boot (a state file written earlier wins). */
export interface PowerOnOptions {
  /** The chip image (the device state is kept beside it); or give `emulator`. */
  chipFile?: string;
  /** The chip behind an emulator endpoint: kit://HOST:PORT[/INDEX] (ATECC608) or jrcp://HOST:PORT (SE050). */
  emulator?: string;
  /** Where the device state is kept (default: beside the chip image; with `emulator`, <SERIAL>.state in the working folder). */
  stateFile?: string;
  /** The firmware trust to pin at first boot; ignored once the device has a state file. */
  firstBootTrust?: () => FirmwareTrust;
  chipOptions?: DeviceChipOptions;
}

/** Loads the chip and its state (pinning the trust at first boot) and reads and verifies the identity. */
export async function powerOn(opts: PowerOnOptions): Promise<PoweredDevice> {
  if ((opts.chipFile === undefined) === (opts.emulator === undefined)) throw new KeylineError('VALIDATION_FAILED', 'a device boots from a chip image or an emulator endpoint: give exactly one');
  const chip = opts.chipFile !== undefined ? await openDeviceChip(opts.chipFile, opts.chipOptions ?? {}) : await openEndpointChip(opts.emulator!);
  const dev = chip.se;
  try {
    const serialHex = await chipSerialHex(chip);
    const stateFile = opts.stateFile ?? (opts.chipFile !== undefined ? stateFileFor(opts.chipFile) : resolve(`${serialHex}.state`));
    let state = await loadDeviceState(stateFile);
    if (state && state.serial !== serialHex) throw new KeylineError('DEVICE_STATE_INVALID', `device state ${stateFile} belongs to ${state.serial}, the chip is ${serialHex}`);
    if (!state) {
      if (!opts.firstBootTrust) throw new KeylineError('DEVICE_STATE_INVALID', `no device state ${stateFile} and no factory config to pin the root from (first boot needs --config)`);
      state = newDeviceState(serialHex, opts.firstBootTrust());
    }
    const trust = loadTrust(state.firmware);
    const identity = await readDeviceIdentity(chip, trust);
    return { ...(opts.chipFile !== undefined ? { chipFile: opts.chipFile } : {}), stateFile, chip, dev, trust, identity, signer: new X509Certificate(Buffer.from(identity.signerDer)), state };
  } catch (err) {
    await dev.close().catch(() => undefined);
    throw err;
  }
}

/** Opens the device's broker connection (client id = serial, broker verified against the pinned root). */
export function connectDevice(d: PoweredDevice, opts: Omit<EnrollClientOptions, 'rootCaPem' | 'serial'>): Promise<EnrollClient> {
  return EnrollClient.connect({ ...opts, rootCaPem: d.trust.spec.rootCertPem, serial: d.identity.serialHex });
}

/** Options of enrollDevice. */
export interface EnrollDeviceOptions {
  now?: () => Date;
  /**
   * Write the chip image and the state file (default true), as the device writes its EEPROM and
   * flash. A benchmark running hundreds of devices on the server's own cores turns it off: the
   * chip and the state stay in memory (the next enrollment still sees the moved counter), and
   * the machine measures the server rather than the devices' file writes.
   */
  persist?: boolean;
}

/**
 * Runs the signed challenge on an open connection: hello with the rebuilt certificate, then a
 * proof signed in the chip over the challenge with counter 0 incremented first (the chip image
 * is saved as soon as the counter moved, so a crash cannot roll it back), then the signed
 * configuration verified and stored. Throws the server's refusal as EnrollmentRefusedError.
 */
export async function enrollDevice(d: PoweredDevice, client: EnrollClient, o: EnrollDeviceOptions = {}): Promise<{ msg: EnrolledMessage; counter: number }> {
  const now = o.now ?? (() => new Date());
  const persist = o.persist ?? true;
  const { identity } = d;
  // The line certificate, or the one an AWS Fleet Provisioning enrollment replaced it with.
  const cert = presentedCertificate(d.state, { der: identity.deviceDer, fingerprint: identity.fingerprint });
  const challenge = expect(await client.request({ type: 'hello', serial: identity.serialHex, deviceCertificate: Buffer.from(cert.der).toString('base64') }), 'challenge');
  const counter = await d.dev.counterIncrement();
  if (persist) persistDeviceChip(d.chip);
  // cert.fingerprint is SHA-256 of cert.der (hex), computed when the identity was read.
  const digest = enrollmentDigest({ nonce: Buffer.from(challenge.nonce, 'hex'), counter, serial: identity.serial, certFingerprint: Buffer.from(cert.fingerprint, 'hex') });
  const signature = await d.dev.signDigest(digest);
  const msg = expect(await client.request({ type: 'proof', serial: identity.serialHex, nonce: challenge.nonce, counter, signature: Buffer.from(signature).toString('hex') }), 'enrolled');
  if (msg.serial !== identity.serialHex) throw new KeylineError('BAD_SERVER_RESPONSE', `enrolled answer names ${msg.serial}, this device is ${identity.serialHex}`);
  verifyConfiguration(msg, { signer: d.signer, root: d.trust.root }, now().getTime());
  const at = now().toISOString();
  const before = d.state.enrollment;
  d.state = {
    ...d.state,
    enrollment: {
      group: msg.group, config: msg.config, configSignature: msg.configSignature, configSignerCertificate: msg.configSignerCertificate,
      fingerprint: cert.fingerprint, enrolledAt: msg.reenrolled && before ? before.enrolledAt : at, lastAuthenticatedAt: at, counter,
      reauthentications: (before?.reauthentications ?? 0) + (msg.reenrolled ? 1 : 0),
    },
  };
  if (persist) await saveDeviceState(d.stateFile, d.state);
  return { msg, counter };
}

/** What bootDevice needs beyond power-on. */
export interface BootOptions extends PowerOnOptions {
  /** Broker URL; when absent, the one the device last used. */
  brokerUrl?: string;
  protocolVersion?: 5 | 4 | 'auto';
  timeoutMs?: number;
}

/** Boots one device end to end and reports its state; refusals and failures throw with their code. */
export async function bootDevice(opts: BootOptions): Promise<BootReport> {
  const d = await powerOn(opts);
  try {
    const brokerUrl = opts.brokerUrl ?? d.state.brokerUrl;
    if (!brokerUrl) throw new KeylineError('CONFIG_INVALID', `no broker URL for ${d.identity.serialHex}: give --broker or an enroll section in keyline.json`);
    d.state = { ...d.state, boots: d.state.boots + 1, brokerUrl };
    await saveDeviceState(d.stateFile, d.state);
    const t0 = performance.now();
    const client = await connectDevice(d, { brokerUrl, ...(opts.protocolVersion ? { protocolVersion: opts.protocolVersion } : {}), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    const t1 = performance.now();
    try {
      const { msg, counter } = await enrollDevice(d, client);
      return {
        serial: d.identity.serialHex, chip: d.chip.kind, outcome: msg.reenrolled ? 'reauthenticated' : 'enrolled', group: msg.group, counter, fingerprint: d.state.enrollment?.fingerprint ?? d.identity.fingerprint,
        brokerUrl, protocolVersion: client.protocolVersion, connectMs: round(t1 - t0), enrollMs: round(performance.now() - t1), stateFile: d.stateFile,
      };
    } finally {
      await client.close();
    }
  } finally {
    await d.dev.close();
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;

function expect<T extends 'challenge' | 'enrolled'>(m: Awaited<ReturnType<EnrollClient['request']>>, type: T): Extract<typeof m, { type: T }> {
  if (m.type === 'error') throw new EnrollmentRefusedError(m);
  if (m.type !== type) throw new KeylineError('BAD_SERVER_RESPONSE', `expected ${type}, got ${m.type}`);
  return m as Extract<typeof m, { type: T }>;
}
