import t from 'tap';
import { checkProvisioningConfig, configZoneCrc, provisioningConfigZone } from '../../../secure-element/provisioning-config.js';
import { Slot } from '../../../secure-element/slot-map.js';
import { awakeBlank, run, st, writeProvisioningConfig } from './helpers.js';

t.test('the provisioning config passes its own check', async (t) => {
  t.same(checkProvisioningConfig(provisioningConfigZone()), []);
  const c = provisioningConfigZone();
  t.equal(c.length, 128);
  t.same([...c.subarray(20, 22)], [0x87, 0x20], 'slot 0 SlotConfig 0x2087');
  t.same([...c.subarray(96, 98)], [0x33, 0x00], 'slot 0 KeyConfig 0x0033');
});

t.test('the checker names the classic mistakes', async (t) => {
  const c = provisioningConfigZone();
  c[96] = 0x3c; // slot 0 KeyType 7
  const problems = checkProvisioningConfig(c);
  t.ok(problems.some((p) => /slot 0 KeyConfig.KeyType is 7/.test(p)), problems.join('; '));
  const d = provisioningConfigZone();
  d[21] = 0x00; // slot 0 WriteConfig without GenKey
  t.ok(checkProvisioningConfig(d).some((p) => /GenKey bit/.test(p)));
  const e = provisioningConfigZone();
  e[20 + 2 * Slot.DEVICE_CERT] = 0x80; // IsSecret on the cert slot
  t.ok(checkProvisioningConfig(e).some((p) => /slot 10 SlotConfig.IsSecret/.test(p)));
  t.same(checkProvisioningConfig(new Uint8Array(10)).length, 1);
});

t.test('configZoneCrc is the CRC the chip checks at config lock', async (t) => {
  const chip = awakeBlank();
  const cfg = writeProvisioningConfig(chip);
  t.same([...run(chip, 0x02, 0x80, 2 << 3).data], [...cfg.subarray(64, 96)], 'chip holds the written bytes');
  t.equal(st(chip, 0x17, 0x00, configZoneCrc(cfg)), 0x00);
  t.equal(run(chip, 0x02, 0x00, 21).data[3], 0x00, 'locked');
});
