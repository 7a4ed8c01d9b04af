/**
 * The factory floor of the scale run: each station is a real `keyline station run` process with
 * its own identity (a clientAuth certificate from the issuing CA), its own journal and its own
 * emulated chips (`keyline emulator serve`), talking to the replicas through the balancer.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScaleEnv } from './env.js';
import { KeylineProc } from './proc.js';

/** What one station is asked to do. */
export interface StationPlan {
  id: string;
  workOrder: string;
  /** Good units wanted (--count). */
  count: number;
  /** Blank chips in its emulator (a few more than count: quarantined chips are not reused). */
  chips: number;
  parallel: number;
}

/** A row of `keyline station report` (the columns the invariants use). */
export interface JournalRow {
  serial: string;
  workOrder: string;
  status: string;
  certificateSerial: string;
  fingerprint: string;
}

/** One station with its emulator. */
export class Station {
  proc: KeylineProc | undefined;
  private constructor(readonly plan: StationPlan, readonly dir: string, readonly configPath: string, readonly emulator: KeylineProc, readonly kit: string) {}

  /** Issues the identity, writes the station's keyline.json and starts its emulator. */
  static async prepare(env: ScaleEnv, plan: StationPlan, dir: string): Promise<Station> {
    mkdirSync(dir, { recursive: true });
    const id = await env.stationIdentity(plan.id, dir);
    const configPath = join(dir, 'keyline.json');
    writeFileSync(configPath, JSON.stringify({
      station: { id: plan.id, serverUrl: env.apiUrl, cert: id.cert, key: id.key, journal: join(dir, 'journal.db') },
      ca: { rootCert: env.pki.rootCertPath },
      log: { level: 'warn' },
    }, null, 2));
    const emulator = KeylineProc.spawn(`emulator-${plan.id}`, ['emulator', 'serve', '--chips', join(dir, 'chips'), '--count', String(plan.chips), '--port', '0']);
    const [, kit] = await emulator.ready(/^emulator kit:\/\/(\S+) /m, 30_000);
    return new Station(plan, dir, configPath, emulator, kit!);
  }

  /** Starts `keyline station run` (retrying every second at most while no replica answers). */
  run(): void {
    const p = this.plan;
    this.proc = KeylineProc.spawn(`station-${p.id}`, [
      'station', 'run', '--config', this.configPath, '--work-order', p.workOrder, '--count', String(p.count),
      '--emulator', this.kit, '--parallel', String(p.parallel), '--retry-max', '1', '--json',
    ]);
  }

  /** Good units so far (one `label` line each on stdout). */
  good(): number {
    return this.proc ? (this.proc.stdout.match(/^label /gm) ?? []).length : 0;
  }

  /** Waits for the station to stop; its exit code and JSON summary. */
  async finished(): Promise<{ code: number | null; summary: Record<string, unknown> | null }> {
    const { code } = await this.proc!.exited;
    const last = this.proc!.stdout.trim().split('\n').pop() ?? '';
    let summary: Record<string, unknown> | null = null;
    try {
      summary = JSON.parse(last);
    } catch {
      summary = null;
    }
    return { code, summary };
  }

  /** Stops the emulator (SIGTERM: it saves every chip image) so the chips can leave the factory. */
  async shipChips(): Promise<void> {
    await this.emulator.kill('SIGTERM');
  }

  /** The station's journal through `keyline station report` (CSV). */
  async journal(): Promise<JournalRow[]> {
    const r = await KeylineProc.run('station-report', ['station', 'report', '--config', this.configPath]);
    if (r.code !== 0) throw new Error(`keyline station report failed: ${r.stderr}`);
    const [cols = [], ...rows] = parseCsv(r.stdout);
    const at = (name: string) => cols.indexOf(name);
    return rows.filter((f) => f.length === cols.length).map((f) => {
      return { serial: f[at('serial')]!, workOrder: f[at('work_order')]!, status: f[at('status')]!, certificateSerial: f[at('certificate_serial')]!, fingerprint: f[at('fingerprint_sha256')]! };
    });
  }

  /** Copies the chip images of `serials` into `dest` (the devices' folder for `keyline device fleet`). */
  copyChips(serials: string[], dest: string): void {
    mkdirSync(dest, { recursive: true });
    for (const s of serials) copyFileSync(join(this.dir, 'chips', `${s}.json`), join(dest, `${s}.json`));
  }
}

/** RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') endField();
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endField();
      rows.push(row);
      row = [];
    } else field += ch;
  }
  if (field || row.length) {
    endField();
    rows.push(row);
  }
  return rows;
}
