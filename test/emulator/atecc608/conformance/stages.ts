/**
 * Chips brought to the three lifecycle stages the conformance suite runs on, the way
 * cryptoauthlib's test runner sets a part up (test/atca_test.c, test_ecc608_configdata,
 * g_slot4_key): unlocked (blank), config-locked (calib_write_config_zone, then Lock with the
 * config CRC), fully locked (slot 4 loaded with g_slot4_key before calib_lock_data_zone, no CRC).
 */
import { crc16 } from '../../../../secure-element/crc.js';
import { TEST_CONFIG } from '../../../secure-element/fixtures.js';
import type { CalibHost } from './calib-host.js';

/** cryptoauthlib's test key for slot 4 (test/atca_test_config.c g_slot4_key): IO protection and write key. */
export const SLOT4_KEY = Uint8Array.from(Buffer.from('3780e63d4968ade5d822c013fcc323845d1b569fe705b60006feec145a0db1e3', 'hex'));

/** The lifecycle stages. */
export type Stage = 'unlocked' | 'config-locked' | 'locked';

/** Brings a blank chip behind `host` to `stage`; throws on any refused step. */
export async function toStage(host: CalibHost, stage: Stage): Promise<void> {
  if (stage === 'unlocked') return;
  const statuses = await host.writeConfigZone(TEST_CONFIG);
  if (statuses.some((s) => s !== 0)) throw new Error(`config write answered ${statuses.join(',')}`);
  const config = new Uint8Array(128);
  for (let block = 0; block < 4; block++) config.set((await host.readZone(0, 0, block, 0, 32)).data, block * 32);
  if ((await host.lock(0x00, crc16(config))).status !== 0) throw new Error('config lock refused');
  if (stage === 'config-locked') return;
  // Before data lock only 32-byte writes reach the data zone (calib_write_bytes_zone's rule).
  if ((await host.writeZone(2, 4, 0, 0, SLOT4_KEY)).status !== 0) throw new Error('slot 4 write refused');
  if ((await host.lock(0x81)).status !== 0) throw new Error('data lock refused');
}
