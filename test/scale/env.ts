/**
 * The scale run's deployment on one machine, as the README's "Deployment (scale-out)" describes it:
 * a dev PKI from `keyline ceremony init --dev`, one database (a throw-away PostgreSQL cluster, or a
 * shared SQLite file), Mosquitto with TLS and the `keyline broker acl` ACL, N `keyline server`
 * replicas on fixed ports (so a restarted one comes back where the balancer expects it), and a
 * TCP pass-through balancer in front of their HTTPS ports.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { freePort, startMosquitto, type MosquittoHandle } from '../../bench/lib.js';
import { startTcpBalancer, type TcpBalancer } from '../../scripts/tcp-balancer.js';
import { fromPem } from '../../common/pem.js';
import { openStore } from '../../server/store/open-store.js';
import { startTempPostgres, type TempPostgres } from '../../scripts/temp-postgres.js';
import { issueStationIdentity } from '../helpers/server.js';
import type { TestPki } from '../helpers/pki.js';
import { KeylineProc } from './proc.js';

/** Read-only SQL over either database (the invariants are plain portable SELECTs). */
export interface SqlReader {
  all<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

/** Paths of the dev PKI written by the ceremony CLI. */
export interface ScalePki {
  dir: string;
  configPath: string;
  rootCertPath: string;
  issuingCertPath: string;
  officerCertPath: string;
  officerKeyPath: string;
  operatorCertPath: string;
  operatorKeyPath: string;
}

/** One `keyline server` replica on fixed ports. */
export class Replica {
  proc: KeylineProc | undefined;
  starts = 0;
  constructor(readonly index: number, readonly port: number, readonly publicPort: number, private readonly configPath: string) {}

  get apiUrl(): string {
    return `https://127.0.0.1:${this.port}`;
  }
  get publicUrl(): string {
    return `http://127.0.0.1:${this.publicPort}`;
  }

  /** Starts the process and waits for its `api` line. */
  async start(): Promise<void> {
    this.starts++;
    this.proc = KeylineProc.spawn(`replica-${this.index}`, ['server', '--config', this.configPath], {
      KEYLINE_SERVER_PORT: String(this.port), KEYLINE_SERVER_PUBLIC_PORT: String(this.publicPort), KEYLINE_LOG_LEVEL: 'warn',
    });
    await this.proc.ready(/^api \S+$/m, 60_000);
  }

  /** kill -9 (a crash: no lease released, no connection closed cleanly), or a clean SIGTERM stop. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.kill(signal);
  }
}

/** The running deployment. */
export interface ScaleEnv {
  pki: ScalePki;
  storeUrl: string;
  storeKind: 'postgres' | 'sqlite';
  broker: MosquittoHandle;
  replicas: Replica[];
  balancer: TcpBalancer;
  /** https:// of the balancer: what stations are configured with. */
  apiUrl: string;
  sql: SqlReader;
  /** Issues a station identity (clientAuth certificate from the issuing CA) and writes it to dir. */
  stationIdentity(id: string, dir: string): Promise<{ cert: string; key: string }>;
  close(): Promise<void>;
}

/** Options of startScaleEnv. */
export interface ScaleEnvOptions {
  dir: string;
  store: 'postgres' | 'sqlite';
  replicas: number;
  crlLeaseSeconds: number;
  /** enroll.rateLimitPerMinute of the replicas (devices retrying must not be throttled into failure). */
  rateLimitPerMinute: number;
  say: (line: string) => void;
}

/** Builds and starts everything; close() stops it all. */
export async function startScaleEnv(o: ScaleEnvOptions): Promise<ScaleEnv> {
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const pkiDir = join(o.dir, 'pki');
    const cer = await KeylineProc.run('ceremony', ['ceremony', 'init', '--dev', '--out', pkiDir, '--json']);
    if (cer.code !== 0) throw new Error(`keyline ceremony init failed: ${cer.stderr}`);
    const pki: ScalePki = {
      dir: pkiDir, configPath: join(pkiDir, 'keyline.json'), rootCertPath: join(pkiDir, 'root-ca.pem'), issuingCertPath: join(pkiDir, 'issuing-ca.pem'),
      officerCertPath: join(pkiDir, 'officer-01.pem'), officerKeyPath: join(pkiDir, 'officer-01.key.pem'),
      operatorCertPath: join(pkiDir, 'operator-01.pem'), operatorKeyPath: join(pkiDir, 'operator-01.key.pem'),
    };
    const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8'));
    o.say(`pki: ${pkiDir} (SoftHSM tokens, root and issuing CA)`);

    // Identities are issued by the issuing CA key in the line token, as test/helpers/server.ts does.
    const testPki = {
      softhsmConf: join(pkiDir, cfg.hsm.softhsmConf), linePinPath: join(pkiDir, cfg.hsm.pin.file), lineTokenLabel: cfg.hsm.tokenLabel,
      issuingKeyRef: cfg.hsm.issuingKey, issuingDer: fromPem(readFileSync(pki.issuingCertPath, 'utf8')),
    } as unknown as TestPki;
    const stationIdentity = async (id: string, dir: string) => {
      const idn = await issueStationIdentity(testPki, { id });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${id}.pem`), idn.cert);
      writeFileSync(join(dir, `${id}.key.pem`), idn.key, { mode: 0o600 });
      return { cert: join(dir, `${id}.pem`), key: join(dir, `${id}.key.pem`) };
    };

    let storeUrl: string;
    let pgCluster: TempPostgres | undefined;
    if (o.store === 'postgres') {
      // In the system temp folder: the cluster may run as another user (root → keyline-pg), who cannot enter o.dir.
      pgCluster = await startTempPostgres();
      closers.push(() => pgCluster!.stop());
      storeUrl = await pgCluster.createDatabase('keyline');
    } else {
      storeUrl = `sqlite:${join(pkiDir, 'keyline.db')}`;
    }
    // Migrate once before the replicas start, so they do not race to create the schema.
    await (await openStore(storeUrl)).close();
    o.say(`store: ${o.store === 'postgres' ? `PostgreSQL (throw-away cluster, ${storeUrl})` : `SQLite ${storeUrl}`}`);

    // Mosquitto: the service authenticates by certificate (CN = ACL user); devices by client id.
    const serviceUser = 'keyline-enroll';
    const service = await stationIdentity(serviceUser, join(o.dir, 'enroll'));
    const acl = await KeylineProc.run('broker-acl', ['broker', 'acl', '--service-user', serviceUser, '--client-id-devices']);
    if (acl.code !== 0) throw new Error(`keyline broker acl failed: ${acl.stderr}`);
    const brokerDir = join(o.dir, 'mosquitto');
    mkdirSync(brokerDir, { recursive: true });
    const broker = await startMosquitto({
      dir: brokerDir, serverCertPath: join(pkiDir, 'server.pem'), serverKeyPath: join(pkiDir, 'server.key.pem'),
      rootCertPath: pki.rootCertPath, issuingCertPath: pki.issuingCertPath, acl: { text: acl.stdout, serviceUser },
    });
    closers.push(() => broker.stop());
    o.say(`mosquitto: service listener ${broker.url} (client certificates, ACL), device listener ${broker.deviceUrl}`);

    cfg.store = { url: storeUrl };
    cfg.ca.crlLeaseSeconds = o.crlLeaseSeconds;
    cfg.enroll = { ...cfg.enroll, broker: broker.url, protocolVersion: 5, clientCert: service.cert, clientKey: service.key, rateLimitPerMinute: o.rateLimitPerMinute };
    writeFileSync(pki.configPath, JSON.stringify(cfg, null, 2));

    const replicas: Replica[] = [];
    for (let i = 0; i < o.replicas; i++) replicas.push(new Replica(i + 1, await freePort(), await freePort(), pki.configPath));
    closers.push(() => Promise.all(replicas.map((r) => r.stop())).then(() => undefined));
    await Promise.all(replicas.map((r) => r.start()));
    o.say(`replicas: ${replicas.map((r) => `${r.apiUrl} (public ${r.publicUrl})`).join(', ')}`);

    const balancer = await startTcpBalancer({ backends: replicas.map((r) => ({ host: '127.0.0.1', port: r.port })), downMs: 500 });
    closers.push(() => balancer.close());
    const apiUrl = `https://127.0.0.1:${balancer.port}`;
    o.say(`balancer: ${apiUrl} (TCP pass-through, round robin)`);

    const sql = o.store === 'postgres' ? await pgReader(storeUrl) : sqliteReader(storeUrl.slice('sqlite:'.length));
    closers.push(() => sql.close());
    return { pki, storeUrl, storeKind: o.store, broker, replicas, balancer, apiUrl, sql, stationIdentity, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function sqliteReader(file: string): SqlReader {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  return {
    all: async <T>(q: string) => db.prepare(q).all() as T[],
    close: async () => void db.close(),
  };
}

async function pgReader(url: string): Promise<SqlReader> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return {
    all: async <T>(q: string) => (await c.query(q)).rows as T[],
    close: () => c.end(),
  };
}
