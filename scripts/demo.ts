/**
 * npm run demo -- [--units N] [--parallel P] [--chip atecc608|se050|mixed] [--json]
 *
 * The main job on embedded defaults: a dev PKI in SoftHSM (made once, in certs-dev/), the server
 * with SQLite and its embedded MQTT broker, the emulator with N blank chips (ATECC608, SE050, or
 * half of each: one work order per chip), the station
 * provisioning them end to end, and then the field: every provisioned chip boots as a device
 * (`keyline device fleet`) and enrolls. Leaves the database, the journal, the chip images and
 * the devices' state files for inspection (`keyline units list`).
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { StationApiClient } from '../station/api-client.js';
import { DEMO_PRODUCT } from '../firmware-sim/firmware-trust.js';
import { ENROLL_PROTOCOLS, type EnrollProtocol } from '../firmware-sim/cloud/cloud-errors.js';
import { DEV_FLEET_TEMPLATE, DEV_ID_SCOPE } from '../firmware-sim/cloud/cloud-enroll.js';
import type { ChipKind } from '../common/chip-serial.js';
import { createManufacturerRoot, hasManufacturerRoot, MANUFACTURER_ROOT_FILES, writeManufacturerRoot } from '../common/se05x/manufacturer-root.js';

const USAGE = `Usage: npm run demo -- [--units N] [--parallel P] [--chip atecc608|se050|mixed] [--protocol keyline|aws-fleet|dps] [--json]

Runs the whole production flow against emulated chips: key ceremony (once, into
certs-dev/), server, emulator, station, then every provisioned chip booting as a device in the
field and enrolling over MQTT. Prints each step and a summary; --json prints the summary as JSON
on stdout. --protocol picks how the devices enroll: Keyline's own protocol (default), AWS IoT
Fleet Provisioning or Azure DPS (the server's aws-fleet / dps endpoints). --chip picks the secure
element: ATECC608 (default), NXP SE050 (its work order requires the chip's attested key origin),
or mixed: half of each, one work order per chip.`;

const { values: o } = parseArgs({ options: { chip: { type: 'string' }, protocol: { type: 'string' }, units: { type: 'string' }, parallel: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
if (o.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
const units = Number(o.units ?? 50);
const parallel = Number(o.parallel ?? 4);
if (!Number.isInteger(units) || units < 1 || !Number.isInteger(parallel) || parallel < 1) {
  process.stderr.write(`demo: --units and --parallel take positive integers\n${USAGE}\n`);
  process.exit(2);
}
const protocol = (o.protocol ?? 'keyline') as EnrollProtocol;
if (!ENROLL_PROTOCOLS.includes(protocol)) {
  process.stderr.write(`demo: --protocol must be ${ENROLL_PROTOCOLS.join(', ')}\n${USAGE}\n`);
  process.exit(2);
}
const CHIP_CHOICES = ['atecc608', 'se050', 'mixed'] as const;
const chipChoice = (o.chip ?? 'atecc608') as (typeof CHIP_CHOICES)[number];
if (!CHIP_CHOICES.includes(chipChoice)) {
  process.stderr.write(`demo: --chip must be ${CHIP_CHOICES.join(', ')}\n${USAGE}\n`);
  process.exit(2);
}
/** One work order's worth of one chip: the whole run, or half of it (mixed: the ATECC608s take the odd one). */
const lots: Array<{ chip: ChipKind; units: number }> = chipChoice === 'mixed'
  ? [{ chip: 'atecc608', units: Math.ceil(units / 2) }, { chip: 'se050', units: Math.floor(units / 2) }].filter((l) => l.units > 0) as Array<{ chip: ChipKind; units: number }>
  : [{ chip: chipChoice, units }];
/** The server's stdout line announcing the endpoint the devices use. */
const ENDPOINT_LINE: Record<EnrollProtocol, RegExp> = { keyline: /^mqtt (\S+)$/m, 'aws-fleet': /^aws-fleet (\S+)$/m, dps: /^dps (\S+)$/m };
const root = resolve(import.meta.dirname, '..');
const certs = join(root, 'certs-dev');
const config = join(certs, 'keyline.json');
const step = (s: string) => (o.json ? process.stderr : process.stdout).write(`demo: ${s}\n`);
const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')));

/** Runs `keyline ...` to completion; resolves with stdout. */
function keyline(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, [join(root, 'bin/keyline.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    c.on('error', rej);
    c.on('exit', (code) => res({ code: code ?? 1, out }));
  });
}

/**
 * Starts a long-running `keyline ...` and resolves with the first stdout match of `ready`;
 * `also` is then offered every later match of other patterns (the server's `mqtt` line).
 */
function daemon(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}, also?: { pattern: RegExp; found: (m: RegExpMatchArray) => void }): Promise<RegExpMatchArray> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, [join(root, 'bin/keyline.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    let err = '';
    c.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(ready);
      if (m) res(m);
      const a = also && out.match(also.pattern);
      if (a) also.found(a);
    });
    c.stderr!.on('data', (d) => (err += d));
    c.on('exit', (code) => rej(new Error(`keyline ${args[0]} exited ${code}:\n${err.slice(-3000)}`)));
  });
}

const started = performance.now();
if (!existsSync(config)) {
  step('key ceremony: building the development PKI in certs-dev/ (root token, line token, chain, identities)');
  const r = await keyline(['ceremony', 'init', '--dev', '--out', certs]);
  if (r.code !== 0) throw new Error('ceremony failed');
} else {
  step('key ceremony: using the existing development PKI in certs-dev/');
}

// A dev PKI made before issue 16 has no cloud endpoints: give it the ones `ceremony init --dev` now writes.
if (protocol !== 'keyline') {
  const c = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
  const section = protocol === 'aws-fleet' ? 'awsFleet' : 'dps';
  if (!c[section]) {
    c.awsFleet ??= { templates: { [DEV_FLEET_TEMPLATE]: { thingName: '{product}-{serial}' } } };
    c.dps ??= { idScope: DEV_ID_SCOPE, assignedHub: 'keyline-dev-hub.azure-devices.net' };
    writeFileSync(config, JSON.stringify(c, null, 2) + '\n');
    step(`config: enabled the aws-fleet and dps endpoints in ${config} (as keyline ceremony init --dev does)`);
  }
}

// A dev PKI made before issue 15 has no SE050 manufacturer root: make the one `ceremony init --dev`
// now makes, and trust it for key-origin evidence, as the ceremony's config does.
if (lots.some((l) => l.chip === 'se050')) {
  const c = JSON.parse(readFileSync(config, 'utf8')) as { ca: { manufacturerRoots?: string[] } };
  if (!hasManufacturerRoot(certs)) {
    await writeManufacturerRoot(certs, await createManufacturerRoot());
    step(`key ceremony: made the development SE050 manufacturer root in ${certs} (as keyline ceremony init --dev does)`);
  }
  if (!c.ca.manufacturerRoots?.length) {
    c.ca.manufacturerRoots = [MANUFACTURER_ROOT_FILES.cert];
    writeFileSync(config, JSON.stringify(c, null, 2) + '\n');
    step(`config: the server trusts ${MANUFACTURER_ROOT_FILES.cert} for SE050 key-origin evidence (ca.manufacturerRoots)`);
  }
}

step('server: starting (SoftHSM issuing key, SQLite, HTTPS + mTLS)');
let onMqtt: (url: string) => void = () => undefined;
const mqttLine = new Promise<string>((r) => (onMqtt = r));
const [, apiUrl] = await daemon(['server', '--config', config], /^api (\S+)$/m, { KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' }, {
  pattern: ENDPOINT_LINE[protocol],
  found: (m) => onMqtt(m[1]!),
});
step(`server: ${apiUrl}`);
// The web console (issue 18) on the same listener; the ceremony wrote operator-01.p12 and printed how to import it.
const p12 = join(dirname(config), 'operator-01.p12');
step(`console: ${apiUrl}/console/ (while the demo runs; ${existsSync(p12) ? `browser identity ${p12}, password keyline-dev` : 'keyline ceremony init --dev --force writes the browser identity operator-01.p12'})`);
// The server prints its broker line once the enrollment service is listening (embedded aedes).
const brokerUrl = await Promise.race([mqttLine, delay(15_000, undefined, { ref: false })]);
step(brokerUrl ? `server: ${protocol === 'keyline' ? 'enrollment broker' : `${protocol} endpoint`} ${brokerUrl}` : `server: no ${protocol === 'keyline' ? 'enrollment broker' : `${protocol} endpoint`} announced (enroll disabled?): the field step will be skipped`);

const runId = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
const cfg = JSON.parse(readFileSync(config, 'utf8'));
// Work orders are the operator's to make (a station may not set its own quota).
const api = new StationApiClient({
  baseUrl: apiUrl!,
  cert: readFileSync(resolve(certs, 'operator-01.pem'), 'utf8'),
  key: readFileSync(resolve(certs, 'operator-01.key.pem'), 'utf8'),
  ca: readFileSync(resolve(certs, cfg.ca.rootCert), 'utf8'),
});
type Field = { devices: number; enrolled: number; reauthenticated: number; refused: Record<string, number>; failed: Record<string, number>; enrollMs: { p50: number; p99: number }; seconds: number; perSecond: number };

/** One chip's lot: emulator, work order, station, reconcile, then the field. */
async function runLot(lot: { chip: ChipKind; units: number }) {
  const se050 = lot.chip === 'se050';
  const chips = join(root, 'var', 'demo', runId, lots.length > 1 ? `chips-${lot.chip}` : 'chips');
  mkdirSync(chips, { recursive: true });
  step(`emulator: ${lot.units} blank ${se050 ? 'SE050' : 'ATECC608'} chips in ${chips}`);
  const emulatorAt = children.length;
  let endpoints: string;
  if (se050) {
    // One JRCP port per card (NXP's framing carries no reader address); the station probes each.
    const [line] = await daemon(['emulator', 'serve', '--chip', 'se050', '--chips', chips, '--count', String(lot.units), '--port', '0', '--manufacturer-root', certs, '--json'], /^\{"chip":"se050".*\}$/m);
    const served = JSON.parse(line) as { host: string; ports: number[] };
    endpoints = served.ports.map((p) => `${served.host}:${p}`).join(',');
    step(`emulator: jrcp://${served.host}:{${served.ports[0]}..} (${served.ports.length} cards, one port each)`);
  } else {
    endpoints = (await daemon(['emulator', 'serve', '--chips', chips, '--count', String(lot.units), '--port', '0'], /^emulator kit:\/\/(\S+) /m))[1]!;
    step(`emulator: kit://${endpoints}`);
  }

  const workOrder = lots.length > 1 ? `DEMO-${runId}-${lot.chip.toUpperCase()}` : `DEMO-${runId}`;
  // Keyline's own registry, and a unit is complete only once it is registered there (the default);
  // an SE050 unit must prove its key was made inside a genuine chip.
  await api.createWorkOrder({ id: workOrder, product: DEMO_PRODUCT, quota: lot.units, registries: ['self'], preregistration: 'confirmed', chip: lot.chip, ...(se050 ? { requireAttestation: true } : {}) });
  step(`work order ${workOrder}: ${lot.chip}, quota ${lot.units}, preregistered with: self (confirmed)${se050 ? ', key-origin attestation required' : ''}`);

  step(`station: provisioning ${lot.units} ${lot.chip} units, ${parallel} at a time`);
  const t0 = performance.now();
  const station = await keyline(['station', 'run', '--work-order', workOrder, '--count', String(lot.units), '--emulator', endpoints, '--parallel', String(parallel), '--server', apiUrl!, '--config', config, '--json']);
  const stationSeconds = (performance.now() - t0) / 1000;
  const lines = station.out.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1] ?? '{}');
  const labels = lines.filter((l) => l.startsWith('label '));

  if (!o.json) {
    for (const l of labels.slice(0, 5)) step(l);
    if (labels.length > 5) step(`... ${labels.length - 5} more label lines`);
  }
  if (se050 && labels.length > 0) {
    const u = await api.getUnit(labels[0]!.split(' ')[1]!.slice('serial='.length));
    step(`key origin of ${u.serial}: ${u.keyOrigin ? `${u.keyOrigin.status} (${u.keyOrigin.format})` : 'none recorded'}`);
  }

  // The shipment gate: every unit known to every registry its work order names.
  const gate = await keyline(['reconcile', '--work-order', workOrder, '--config', config, '--json']);
  let reconcile: { ok: boolean; unregistered: unknown[]; parked: unknown[] } | null = null;
  try {
    reconcile = JSON.parse(gate.out);
  } catch { /* reported below */ }
  if (!o.json) {
    step(reconcile ? `reconcile: ${reconcile.ok ? 'ok' : 'NOT ok'} (${reconcile.unregistered.length} not preregistered, ${reconcile.parked.length} parked), exit ${gate.code}`
      : `reconcile: no report (exit ${gate.code})`);
  }

  // The field: the units leave the factory (the emulator lets go of the chip images) and each one
  // powers on as a device: identity from its chip, chain to the root pinned from keyline.json,
  // signed challenge over the broker, signed configuration verified and stored.
  const emulator = children[emulatorAt];
  if (emulator && emulator.exitCode === null) {
    // Wait for it to go: a device must not boot from an image the emulator may still be writing.
    emulator.removeAllListeners('exit'); // its exit is expected now, not a failure
    const gone = new Promise((r) => emulator.once('exit', r));
    emulator.kill('SIGTERM');
    await gone;
  }
  let field: Field | null = null;
  let fieldExit: number | null = null;
  if (brokerUrl && labels.length > 0) {
    step(`field: booting ${labels.length} ${lot.chip} devices from their chip images (keyline device fleet --protocol ${protocol}, ${brokerUrl})`);
    const fleet = await keyline(['device', 'fleet', '--protocol', protocol, '--chips', chips, '--broker', brokerUrl, '--config', config, '--product', DEMO_PRODUCT, '--concurrency', '32', '--json']);
    fieldExit = fleet.code;
    try {
      field = JSON.parse(fleet.out.trim().split('\n').pop() ?? '');
    } catch {
      step(`field: keyline device fleet printed no summary (exit ${fleet.code})`);
    }
  }
  return { chip: lot.chip, units: lot.units, workOrder, chips, labels, summary, stationSeconds, station, gate, field, fieldExit };
}

const done = [];
for (const lot of lots) done.push(await runLot(lot));
api.close();
const refusedCount = (f: Field | null) => (f ? Object.values(f.refused).reduce((a, b) => a + b, 0) + Object.values(f.failed).reduce((a, b) => a + b, 0) : 0);

const enrolledOf = (f: Field | null) => (f ? f.enrolled + f.reauthenticated : 0);
const provisioned = done.reduce((n, l) => n + l.labels.length, 0);
const stationSeconds = done.reduce((n, l) => n + l.stationSeconds, 0);
const first = done[0]!;
const result = {
  // The first (with one chip: the only) lot's work order, chips folder, station summary and field.
  workOrder: first.workOrder,
  apiUrl,
  protocol,
  chip: chipChoice,
  brokerUrl: brokerUrl ?? null,
  chips: first.chips,
  provisioned,
  stationSummary: first.summary,
  stationSeconds: Number(stationSeconds.toFixed(2)),
  unitsPerSecond: Number((provisioned / stationSeconds).toFixed(1)),
  enrolled: done.reduce((n, l) => n + enrolledOf(l.field), 0),
  refused: done.reduce((n, l) => n + refusedCount(l.field), 0),
  field: first.field,
  totalSeconds: Number(((performance.now() - started) / 1000).toFixed(2)),
  stationExit: Math.max(...done.map((l) => l.station.code)),
  fieldExit: first.fieldExit,
  reconcileExit: Math.max(...done.map((l) => l.gate.code)),
  lots: done.map((l) => ({
    chip: l.chip, workOrder: l.workOrder, chips: l.chips, units: l.units, provisioned: l.labels.length, stationSeconds: Number(l.stationSeconds.toFixed(2)),
    unitsPerSecond: Number((l.labels.length / l.stationSeconds).toFixed(1)), enrolled: enrolledOf(l.field), refused: refusedCount(l.field),
    stationExit: l.station.code, reconcileExit: l.gate.code, fieldExit: l.fieldExit,
  })),
};
if (o.json) {
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  for (const l of done) {
    const per = done.length > 1 ? `${l.chip}: ` : '';
    step(`summary: ${per}${l.labels.length}/${l.units} provisioned in ${l.stationSeconds.toFixed(2)} s (${(l.labels.length / l.stationSeconds).toFixed(1)} units/s), station exit ${l.station.code}`);
    if (l.field) {
      const codes = (m: Record<string, number>) => Object.entries(m).map(([c, n]) => `${c} ${n}`).join(', ');
      const why = [codes(l.field.refused), codes(l.field.failed)].filter(Boolean).join(', ');
      step(`summary: ${per}${enrolledOf(l.field)}/${l.labels.length} enrolled in the field, ${refusedCount(l.field)} refused${why ? ` (${why})` : ''}; enrollment p50 ${l.field.enrollMs.p50} ms, p99 ${l.field.enrollMs.p99} ms`);
    } else {
      step(`summary: ${per}field step not run`);
    }
  }
  step(`summary: total ${result.totalSeconds} s`);
  for (const l of done) step(`inspect: node bin/keyline.js units list --work-order ${l.workOrder} --config certs-dev/keyline.json`);
  step(`inspect: a device's stored configuration is in ${first.chips}/<serial>.state`);
}
process.exitCode = done.every((l) => l.station.code === 0 && l.labels.length === l.units && l.gate.code === 0 && (!brokerUrl || (l.field !== null && enrolledOf(l.field) === l.labels.length))) ? 0 : 1;
for (const c of children) c.kill('SIGTERM');
