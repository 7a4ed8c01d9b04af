/**
 * A simulated device's non-volatile memory beside its chip image: the firmware's pinned trust
 * (written once, at first boot), and the enrollment it received (group, the signed configuration
 * exactly as the server signed it, and when). Stored as `<chip image without .json>.state`, so an
 * emulator serving the same folder (which loads every `*.json`) never mistakes it for a chip.
 */
import { CHIP_SERIAL_RE } from '../common/chip-serial.js';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { KeylineError } from '../common/errors.js';
import { writeFileAtomicSync } from './chip-image.js';
import { cloudRecordSchema } from './cloud/cloud-state.js';
import { firmwareTrustSchema } from './firmware-trust.js';

const FORMAT = 'keyline-device-state';

/** What the device stored after a successful enrollment. */
export const enrollmentRecordSchema = z
  .object({
    group: z.string(),
    /** The configuration document, the signature over it and the signer's certificate, as received. */
    config: z.unknown(),
    configSignature: z.string(),
    configSignerCertificate: z.string(),
    /** SHA-256 (hex) of the device certificate the enrollment was made with. */
    fingerprint: z.string(),
    enrolledAt: z.string(),
    lastAuthenticatedAt: z.string(),
    /** The chip counter value of the last accepted proof. */
    counter: z.number().int().nonnegative(),
    /** Accepted boots after the first (the server answered reenrolled: true). */
    reauthentications: z.number().int().nonnegative(),
  })
  .strict();

/** The device-state file. */
export const deviceStateSchema = z
  .object({
    format: z.literal(FORMAT),
    version: z.literal(1),
    serial: z.string().regex(CHIP_SERIAL_RE),
    firmware: firmwareTrustSchema,
    /** The broker the device last enrolled through (used when no other is named). */
    brokerUrl: z.string().optional(),
    enrollment: enrollmentRecordSchema.optional(),
    /** Enrollments through AWS Fleet Provisioning or DPS (issue 16). */
    cloud: cloudRecordSchema.optional(),
    boots: z.number().int().nonnegative(),
  })
  .strict();

/** A device's stored state. */
export type DeviceState = z.infer<typeof deviceStateSchema>;
/** What a successful enrollment stored. */
export type EnrollmentRecord = z.infer<typeof enrollmentRecordSchema>;

/** The state file that belongs to a chip image file. */
export function stateFileFor(chipFile: string): string {
  return `${chipFile.replace(/\.json$/, '')}.state`;
}

/** A fresh state for a device at first boot. */
export function newDeviceState(serial: string, firmware: DeviceState['firmware']): DeviceState {
  return { format: FORMAT, version: 1, serial, firmware, boots: 0 };
}

/** Loads a state file; `null` when there is none yet (first boot); DEVICE_STATE_INVALID when unreadable. */
export async function loadDeviceState(file: string): Promise<DeviceState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KeylineError('DEVICE_STATE_INVALID', `cannot read device state ${file}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KeylineError('DEVICE_STATE_INVALID', `device state ${file} is not JSON`, { cause: err });
  }
  const parsed = deviceStateSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new KeylineError('DEVICE_STATE_INVALID', `device state ${file}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return parsed.data;
}

/** Writes a state file atomically (temp file + rename), readable by its owner only. */
export async function saveDeviceState(file: string, state: DeviceState): Promise<void> {
  writeFileAtomicSync(file, JSON.stringify(state, null, 2) + '\n');
}
