/**
 * bench:enroll's cloud-protocol rounds (issue 16, `--protocol aws-fleet|dps`): the same server and
 * machine as the Keyline-protocol rounds, devices of their own (freshly provisioned, so round 1
 * is their first registration and round 2 a registration again). Each registration is what the
 * protocol makes a device do: open a mutual-TLS connection with its certificate (the protocols
 * have the device connect for it and leave after), then DPS register → 202 → poll → 200, or AWS
 * CreateCertificateFromCsr (CSR signed in the chip; the server signs a certificate in the HSM) →
 * RegisterThing, the signed configuration verified on the device. So a registration's figure
 * includes a TLS handshake with client authentication, which the Keyline rounds (connections
 * opened before the clock) do not.
 */
import type { PoweredDevice } from '../firmware-sim/boot.js';
import type { EnrollProtocol } from '../firmware-sim/cloud/cloud-errors.js';
import { enrollCloud } from '../firmware-sim/cloud/cloud-enroll.js';
import { fmt, percentile } from './lib.js';
import { cpuSnapshot, cpuSpent } from './process-cpu.js';

/** One measured round. */
export interface CloudRound {
  protocol: Exclude<EnrollProtocol, 'keyline'>;
  outcome: string;
  perSec: number;
  p50: number;
  p99: number;
  failed: Record<string, number>;
}

/** Runs `rounds` rounds of every device registering at once through `protocol` at `url`; prints each. */
export async function cloudRounds(o: {
  protocol: Exclude<EnrollProtocol, 'keyline'>;
  url: string;
  devices: PoweredDevice[];
  rounds: number;
  out: (s: string) => void;
  partOf: (pid: number, comm: string) => string | undefined;
}): Promise<CloudRound[]> {
  const rows: CloudRound[] = [];
  const n = o.devices.length;
  for (let r = 0; r < o.rounds; r++) {
    const lat: number[] = [];
    const failed: Record<string, number> = {};
    let again = 0;
    const cpu0 = cpuSnapshot(o.partOf);
    const t0 = performance.now();
    await Promise.all(o.devices.map(async (d) => {
      const s = performance.now();
      try {
        // Device flash writes off, as in the Keyline rounds (the device's own cost in the field).
        const res = await enrollCloud(d, { protocol: o.protocol, url: o.url, persist: false, timeoutMs: 60_000 });
        if (res.reenrolled) again++;
        lat.push(performance.now() - s);
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'INTERNAL';
        failed[code] = (failed[code] ?? 0) + 1;
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSpent(cpu0, cpuSnapshot(o.partOf));
    const row: CloudRound = {
      protocol: o.protocol, outcome: again === 0 ? 'first registration' : again === lat.length ? 'registration again' : `${again} again`,
      perSec: lat.length / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99), failed,
    };
    rows.push(row);
    const fails = Object.entries(failed).map(([c, k]) => `${c} ${k}`).join(', ');
    o.out(`${o.protocol} round ${r + 1} (${row.outcome}): ${fmt(row.perSec)} registrations/s, p50 ${fmt(row.p50, 1)} ms, p99 ${fmt(row.p99, 1)} ms${fails ? `; FAILED ${fails}` : ''}`);
    const per = (x: number) => fmt((x / n) * 1000, 2);
    o.out(`  CPU per registration: devices (this process) ${per(cpu.self)} ms, server ${per(cpu.parts.server ?? 0)} ms; machine ${fmt((100 * cpu.machineBusy) / (cpu.machineBusy + cpu.machineIdle))} % busy`);
  }
  return rows;
}
