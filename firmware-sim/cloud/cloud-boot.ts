/**
 * A boot through whichever protocol the device is told to use: the Keyline protocol
 * (boot.ts bootDevice) or a cloud protocol (cloud-enroll.ts) after the same power-on, identity
 * check and pinned trust. The fleet and `keyline device boot` call this.
 */
import { KeylineError } from '../../common/errors.js';
import { bootDevice, powerOn, type BootOptions, type BootReport } from '../boot.js';
import { saveDeviceState } from '../device-state.js';
import type { EnrollProtocol } from './cloud-errors.js';
import { enrollCloud } from './cloud-enroll.js';

/** Boot options with the protocol. */
export interface AnyBootOptions extends BootOptions {
  /** Default keyline. For aws-fleet and dps, brokerUrl is that endpoint's URL. */
  protocol?: EnrollProtocol;
  /** AWS Fleet Provisioning template (default keyline-dev). */
  template?: string;
  /** DPS ID scope (default the dev scope). */
  idScope?: string;
}

/** A boot report naming its protocol and, for the clouds, the assignment. */
export type AnyBootReport = BootReport & { protocol: EnrollProtocol; thingName?: string; certificateId?: string; assignedHub?: string; deviceId?: string };

/** Boots one device end to end through `opts.protocol`; refusals and failures throw with their code. */
export async function bootAny(opts: AnyBootOptions): Promise<AnyBootReport> {
  const protocol = opts.protocol ?? 'keyline';
  if (protocol === 'keyline') return { ...(await bootDevice(opts)), protocol };
  const d = await powerOn(opts);
  try {
    const url = opts.brokerUrl ?? (protocol === 'dps' ? d.state.cloud?.dps?.url : d.state.cloud?.awsFleet?.url);
    if (!url) throw new KeylineError('CONFIG_INVALID', `no ${protocol} endpoint for ${d.identity.serialHex}: give --broker (the '${protocol} mqtts://…' line keyline server prints)`);
    d.state = { ...d.state, boots: d.state.boots + 1 };
    await saveDeviceState(d.stateFile, d.state);
    const r = await enrollCloud(d, { protocol, url, ...pick(opts) });
    const round = (ms: number) => Math.round(ms * 10) / 10;
    return {
      serial: d.identity.serialHex, chip: d.chip.kind, outcome: r.reenrolled ? 'reauthenticated' : 'enrolled', group: r.group, counter: d.identity.counter, fingerprint: r.fingerprint,
      brokerUrl: url, protocolVersion: 4, connectMs: round(r.connectMs), enrollMs: round(r.enrollMs), stateFile: d.stateFile, protocol,
      ...(r.thingName ? { thingName: r.thingName, certificateId: r.certificateId! } : {}), ...(r.assignedHub ? { assignedHub: r.assignedHub, deviceId: r.deviceId! } : {}),
    };
  } finally {
    await d.dev.close();
  }
}

const pick = (o: AnyBootOptions) => ({
  ...(o.template ? { template: o.template } : {}), ...(o.idScope ? { idScope: o.idScope } : {}), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
});
