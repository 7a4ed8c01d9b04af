/**
 * `keyline device boot | fleet`: simulated devices in the field, booting from emulated chip
 * images the station provisioned, ATECC608 or SE050 (device-chip.ts tells them apart).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { intFlag, parseCommand, runCli, UsageError } from '../common/cli.js';
import { KeylineError } from '../common/errors.js';
import { bootAny, type AnyBootOptions } from './cloud/cloud-boot.js';
import { parseChipEndpoint } from './device-chip.js';
import { ENROLL_PROTOCOLS, refusalOf, type EnrollProtocol } from './cloud/cloud-errors.js';
import { bootFleet, listChipImages, type FleetEntry } from './fleet.js';
import { DEMO_PRODUCT, trustFromFactoryConfig } from './firmware-trust.js';

const DEFAULT_CONFIG = 'certs-dev/keyline.json';

const COMMON = `  --protocol P      keyline (default), aws-fleet (AWS IoT Fleet Provisioning: CSR signed in the
                    chip, RegisterThing) or dps (Azure DPS: register, poll until assigned)
  --broker URL      mqtts://host:port of the enrollment broker, or of the aws-fleet / dps endpoint
                    with --protocol (default: keyline.json's enroll, awsFleet or dps section when
                    it names a fixed port, else the one the device last used)
  --template NAME   aws-fleet: the provisioning template (default: keyline.json's only template,
                    else keyline-dev)
  --id-scope S      dps: the ID scope (default: keyline.json's dps.idScope, else the dev scope)
  --config FILE     the factory's keyline.json: at first boot the device pins its root and
                    certificate templates from it (default ${DEFAULT_CONFIG})
  --product NAME    the product the firmware is built for: the device template's subject O,
                    i.e. the work order's product (default '${DEMO_PRODUCT}')
  --mqtt V          5, 3.1.1 or auto (default auto: 5, then 3.1.1 if the broker refuses it)
  --timeout MS      connect and per-message time limit (default 10000)
  --json            print the result as one JSON line
  -h, --help        show this help`;

const BOOT_USAGE = `Usage: keyline device boot (--chip FILE | --emulator URL) [--protocol keyline|aws-fleet|dps] [--broker URL] [--config FILE] [--json]

Powers on one simulated device: reads its identity from the chip image, rebuilds and verifies
its certificates to the pinned root, enrolls over MQTT (signed challenge, chip counter; or AWS
Fleet Provisioning or DPS with --protocol, the line certificate as the TLS client identity),
verifies and stores the signed configuration in <chip>.state next to the image.

Either chip, told apart by the image's "format" (keyline-atecc608-image or keyline-se050-image):
  ATECC608  compressed certificates in slots 10-12 rebuilt with the firmware's templates;
            counter 0; key slot 0
  SE050     DER device certificate and chain read from objects 20000002, 20000003 (and
            20000010+); counter object 20000004; key object 20000001
Counter and signature are made inside the chip, through the same SecureElement interface.
With --emulator the chip is one a running \`keyline emulator serve\` serves, and the URL it
printed says which chip: kit://HOST:PORT[/INDEX] (ATECC608, the chip at discovery index INDEX,
default 0) or jrcp://HOST:PORT (SE050); the emulator saves the chip's image itself.

Options:
  --chip FILE       the chip image (<serial>.json) the station provisioned, of either chip
  --emulator URL    or: the chip behind an emulator endpoint (kit://... or jrcp://..., above)
  --state FILE      the device state (default: <chip>.state beside the image; with --emulator,
                    <SERIAL>.state in the working folder)
${COMMON}`;

const FLEET_USAGE = `Usage: keyline device fleet --chips DIR [--protocol keyline|aws-fleet|dps] [--concurrency C] [--retries N] [--broker URL] [--json]

Boots every chip image in DIR, C at a time, and prints a summary: enrolled, re-authenticated,
refused by code, failed by code, p50/p99 enrollment time, accepted devices per chip. Exit 1
when any device was refused. The folder may mix ATECC608 and SE050 images (each image's
"format" says which chip it is; see \`keyline device boot --help\`).

Options:
  --chips DIR       folder of chip images (*.json, ATECC608 or SE050)
  --concurrency C   devices booting at once (default 32)
  --retries N       boot a device again up to N times after a failure (a lost broker or answer,
                    or a refusal that says when to retry), backing off up to 3 s (default 0)
${COMMON}`;

const USAGE = `Usage: keyline device <boot|fleet> [options]

  boot    boot one simulated device from a chip image (ATECC608 or SE050)
  fleet   boot every chip image in a folder (either chip, mixed)

Run \`keyline device <boot|fleet> --help\` for options.`;

const commonOptions = {
  protocol: { type: 'string' }, template: { type: 'string' }, 'id-scope': { type: 'string' }, broker: { type: 'string' }, config: { type: 'string' }, product: { type: 'string' }, mqtt: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' },
} as const;

/** Entry point for `keyline device ...`. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(USAGE + '\n');
    return sub ? 0 : 2;
  }
  if (sub === 'boot') return runCli(() => boot(rest));
  if (sub === 'fleet') return runCli(() => fleet(rest));
  process.stderr.write(`keyline device: unknown subcommand '${sub}'\n\n${USAGE}\n`);
  return 2;
}

type Common = { protocol?: string; template?: string; 'id-scope'?: string; broker?: string; config?: string; product?: string; mqtt?: string; timeout?: string };

/** The boot options both subcommands share, from the flags and the factory config. */
export function bootOptionsFrom(v: Common): Omit<AnyBootOptions, 'chipFile'> {
  const configFile = resolve(v.config ?? DEFAULT_CONFIG);
  const haveConfig = existsSync(configFile);
  if (v.config && !haveConfig) throw new UsageError(`--config ${v.config}: no such file`);
  const mqtt = v.mqtt ?? 'auto';
  if (!['5', '3.1.1', 'auto'].includes(mqtt)) throw new UsageError(`--mqtt must be 5, 3.1.1 or auto, got '${mqtt}'`);
  const protocol = (v.protocol ?? 'keyline') as EnrollProtocol;
  if (!ENROLL_PROTOCOLS.includes(protocol)) throw new UsageError(`--protocol must be ${ENROLL_PROTOCOLS.join(', ')}, got '${v.protocol}'`);
  if (protocol !== 'aws-fleet' && v.template) throw new UsageError('--template goes with --protocol aws-fleet');
  if (protocol !== 'dps' && v['id-scope']) throw new UsageError('--id-scope goes with --protocol dps');
  if (protocol !== 'keyline' && v.mqtt && v.mqtt !== '3.1.1') throw new UsageError(`--protocol ${protocol} speaks MQTT 3.1.1 only`);
  const cloud = protocol !== 'keyline' && haveConfig ? cloudFromConfig(configFile, protocol) : {};
  const brokerUrl = v.broker ?? (protocol === 'keyline' ? (haveConfig ? brokerFromConfig(configFile) : undefined) : cloud.url);
  if (brokerUrl !== undefined && !/^mqtts?:\/\/./.test(brokerUrl)) throw new UsageError(`--broker must be an mqtts:// (or mqtt://) URL, got '${brokerUrl}'`);
  const product = v.product ?? DEMO_PRODUCT;
  return {
    ...(haveConfig ? { firstBootTrust: () => trustFromFactoryConfig(configFile, product) } : {}),
    ...(brokerUrl ? { brokerUrl } : {}),
    protocolVersion: mqtt === '5' ? 5 : mqtt === '3.1.1' ? 4 : 'auto',
    ...(protocol === 'keyline' ? {} : { protocol }),
    ...(v.template ?? cloud.template ? { template: (v.template ?? cloud.template)! } : {}),
    ...(v['id-scope'] ?? cloud.idScope ? { idScope: (v['id-scope'] ?? cloud.idScope)! } : {}),
    timeoutMs: intFlag('timeout', v.timeout, 10_000, 100, 600_000),
  };
}

/** The broker a keyline.json names for devices: an external URL, or the embedded broker on a fixed port. */
export function brokerFromConfig(file: string): string | undefined {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { enroll?: { broker?: string; host?: string; port?: number } };
  const e = raw.enroll;
  if (!e) return undefined;
  if (e.broker && e.broker !== 'embedded') return e.broker;
  // An embedded broker on port 0 takes any free port; only the server's `mqtt` line knows it.
  return e.port ? `mqtts://${e.host ?? '127.0.0.1'}:${e.port}` : undefined;
}

/** What keyline.json says of a cloud endpoint: its URL when on a fixed port, the only template, the ID scope. */
export function cloudFromConfig(file: string, protocol: 'aws-fleet' | 'dps'): { url?: string; template?: string; idScope?: string } {
  type Listener = { enabled?: boolean; host?: string; port?: number };
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { awsFleet?: Listener & { templates?: Record<string, unknown> }; dps?: Listener & { idScope?: string } };
  const section = protocol === 'aws-fleet' ? raw.awsFleet : raw.dps;
  if (!section) return {};
  // Port 0 takes any free port: only the server's `aws-fleet` / `dps` line knows it.
  const url = section.port ? `mqtts://${section.host ?? '127.0.0.1'}:${section.port}` : undefined;
  const templates = Object.keys(raw.awsFleet?.templates ?? {});
  return {
    ...(url ? { url } : {}), ...(protocol === 'aws-fleet' && templates.length === 1 ? { template: templates[0]! } : {}),
    ...(protocol === 'dps' && raw.dps?.idScope ? { idScope: raw.dps.idScope } : {}),
  };
}

async function boot(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: BOOT_USAGE, options: { chip: { type: 'string' }, emulator: { type: 'string' }, state: { type: 'string' }, ...commonOptions } });
  if (!args) return 0;
  const v = args.values;
  if (!v.chip && !v.emulator) throw new UsageError(`--chip is required (or --emulator URL)\n\n${BOOT_USAGE}`);
  if (v.chip && v.emulator) throw new UsageError('give --chip FILE or --emulator URL, not both');
  if (v.emulator) {
    try {
      parseChipEndpoint(v.emulator);
    } catch (err) {
      throw new UsageError(`--emulator: ${(err as Error).message}`);
    }
  }
  const where = { ...(v.chip ? { chipFile: resolve(v.chip) } : { emulator: v.emulator! }), ...(v.state ? { stateFile: resolve(v.state) } : {}) };
  try {
    const r = await bootAny({ ...bootOptionsFrom(v), ...where });
    if (v.json) process.stdout.write(JSON.stringify({ state: r.outcome, ...r }) + '\n');
    else {
      const via = r.protocol === 'keyline' ? `counter ${r.counter}` : `via ${r.protocol}${r.thingName ? `, thing ${r.thingName}` : ''}${r.assignedHub ? `, hub ${r.assignedHub}` : ''}`;
      process.stdout.write(`device ${r.serial} (${r.chip}) ${r.outcome}: group ${r.group}, ${via}, enroll ${r.enrollMs} ms (connect ${r.connectMs} ms), state ${r.stateFile}\n`);
    }
    return 0;
  } catch (err) {
    if (!v.json || !(err instanceof KeylineError)) throw err;
    process.stdout.write(JSON.stringify({ state: refusalOf(err) ? 'refused' : 'failed', ...where, code: err.code, message: err.message }) + '\n');
    return 1;
  }
}

async function fleet(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: FLEET_USAGE, options: { chips: { type: 'string' }, concurrency: { type: 'string' }, retries: { type: 'string' }, ...commonOptions } });
  if (!args) return 0;
  const v = args.values;
  if (!v.chips) throw new UsageError(`--chips is required\n\n${FLEET_USAGE}`);
  const files = await listChipImages(resolve(v.chips)).catch((err) => {
    throw new UsageError(`--chips ${v.chips}: ${(err as Error).message}`);
  });
  if (files.length === 0) throw new UsageError(`--chips ${v.chips}: no chip images (*.json) in it`);
  const concurrency = intFlag('concurrency', v.concurrency, 32, 1, 10_000);
  const retries = intFlag('retries', v.retries, 0, 0, 1000);
  const line = (e: FleetEntry) =>
    e.ok ? `device ${e.report.serial} ${e.report.chip} ${e.report.outcome} group=${e.report.group} counter=${e.report.counter} enroll_ms=${e.report.enrollMs}\n` : `device ${e.chipFile} ${e.refused ? 'refused' : 'failed'} ${e.code}: ${e.message}\n`;
  const { summary } = await bootFleet(files, { ...bootOptionsFrom(v), concurrency, retries, ...(v.json ? {} : { onResult: (e) => process.stdout.write(line(e)) }) });
  if (v.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    const codes = (m: Record<string, number>) => Object.entries(m).map(([c, n]) => `${c}=${n}`).join(' ') || 'none';
    process.stdout.write(
      `fleet: ${summary.devices} devices, ${summary.enrolled} enrolled, ${summary.reauthenticated} re-authenticated (${codes(summary.chips)}), refused ${codes(summary.refused)}, failed ${codes(summary.failed)}; ` +
        `enroll p50 ${summary.enrollMs.p50} ms p99 ${summary.enrollMs.p99} ms; ${summary.perSecond}/s over ${summary.seconds} s\n`,
    );
  }
  return summary.enrolled + summary.reauthenticated === summary.devices ? 0 : 1;
}
