/**
 * Shared bench helpers: option parsing with --help, percentiles, a bounded-concurrency runner,
 * OpenSSL's own ECDSA figure, child-process start-up, free ports and a TLS Mosquitto (optionally
 * with the enrollment ACL), so each benchmark prints ratios against baselines from the same run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * A bench's options, or the end of the bench before it starts anything: `--help` (or `-h`)
 * prints `usage` and exits 0; an option it does not parse, a missing value or a stray argument
 * prints one line naming it and pointing at --help, and exits 2 (node's own parse error is a
 * stack trace). `name` is the npm script, e.g. 'bench:line'.
 */
export function benchArgs<const T extends NonNullable<ParseArgsConfig['options']>>(name: string, usage: string, options: T, args = process.argv.slice(2)) {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage.endsWith('\n') ? usage : usage + '\n');
    process.exit(0);
  }
  try {
    return parseArgs({ options, args, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (!e.code?.startsWith('ERR_PARSE_ARGS_')) throw err;
    // Node's messages go on with advice about '--' that does not apply here: keep the first sentence.
    const what = e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `unknown option ${/'[^']*'/.exec(e.message)?.[0] ?? ''}` : e.message.split('. ')[0]!;
    // The usage's first line is the command with '[options]': with --help in their place.
    const help = usage.split('\n')[0]!.includes('[options]') ? usage.split('\n')[0]!.replace('[options]', '--help') : `npm run ${name} -- --help`;
    process.stderr.write(`${name}: ${what} (${help} lists the options)\n`);
    process.exit(2);
  }
}

/** The p-th percentile (0-100) of `xs` in ms. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Runs `total` jobs with at most `concurrency` in flight; returns wall time and per-job latencies. */
export async function runConcurrent(total: number, concurrency: number, job: (i: number) => Promise<void>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await job(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - start) / 1000, latencies };
}

/** `openssl speed ecdsap256` sign/s on one core (the figure OpenSSL prints). */
export function opensslEcdsaP256SignPerSec(seconds = 2): number {
  const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), 'ecdsap256'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  // "256 bits ecdsa (nistp256)   0.0000s   0.0001s  35000.0  12000.0"
  const m = out.match(/ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)/);
  if (!m) throw new Error('could not parse openssl speed output');
  return Number(m[1]);
}

/**
 * Spawns `node bin/keyline.js ...args` and resolves once stdout prints a line matching `ready`;
 * rejects (and kills the child) if that takes over `readyTimeoutMs` (default 120 s).
 */
export function spawnKeyline(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}, readyTimeoutMs = 120_000): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server (NODE_OPTIONS refuses --cpu-prof).
    const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, 'bin/keyline.js', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`keyline ${args.join(' ')}: not ready after ${readyTimeoutMs} ms: ${err.slice(-2000)}`));
    }, readyTimeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (process.env.BENCH_CHILD_STDERR) process.stderr.write(d);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code || (signal && signal !== 'SIGTERM')) process.stderr.write(`keyline ${args[0]} exited ${code ?? signal}: ${err.slice(-2000)}\n`);
      reject(new Error(`keyline ${args.join(' ')} exited ${code}`));
    });
  });
}

/**
 * Stops a child: SIGTERM, then SIGKILL if it is still running after `ms`. Resolves with how
 * long it took to exit and whether it had to be killed. (For `keyline server --workers N` the
 * primary stops its workers; a primary killed outright takes them with it, node:cluster.)
 */
export async function stopChild(child: ChildProcess, ms = 5000): Promise<{ ms: number; killed: boolean }> {
  const t0 = performance.now();
  if (child.exitCode !== null || child.signalCode !== null) return { ms: 0, killed: false };
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const late = await Promise.race([exited.then(() => false), sleep(ms, true, { ref: false })]);
  if (late) child.kill('SIGKILL');
  await exited;
  return { ms: performance.now() - t0, killed: late };
}

const cleanups: Array<() => void> = [];
let exitHooked = false;

/**
 * Runs `fn` (synchronous: kill a child, remove a folder) when the bench ends however it ends:
 * normally, on an uncaught error, or on SIGINT, SIGTERM or SIGHUP (then it exits 128 + the
 * signal number). Without this a bench killed by a signal skips its 'exit' handlers and leaves
 * its servers running (issue 13). Cleanups run once, newest first.
 */
export function onBenchExit(fn: () => void): void {
  cleanups.push(fn);
  if (exitHooked) return;
  exitHooked = true;
  const runAll = () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        c();
      } catch (err) {
        process.stderr.write(`cleanup failed: ${(err as Error).message}\n`);
      }
    }
  };
  process.on('exit', runAll);
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping\n`);
      process.exit(128 + n);
    });
  }
}

/** Formats a number with thousands separators. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned, so a child can take it). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitListening(port: number, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listening on ${port} after ${ms} ms`);
    await sleep(50);
  }
}

/** Where startMosquitto finds the TLS identity (the dev PKI's paths). */
export interface MosquittoOptions {
  /** Folder for the generated config, chain, ACL and password files. */
  dir: string;
  serverCertPath: string;
  serverKeyPath: string;
  rootCertPath: string;
  issuingCertPath: string;
  /**
   * The `keyline broker acl --client-id-devices` text. With it: a listener requiring client
   * certificates (username = CN: the enrollment service) and one for devices without certificates
   * (anonymous, by client id); the service's username is password-protected so nobody can claim
   * it on the anonymous listener. Without it: one anonymous TLS listener, no ACL (benchmarks).
   */
  acl?: { text: string; serviceUser: string };
}

/** A Mosquitto child with fixed ports, restartable (persistence off: a restart loses every session). */
export interface MosquittoHandle {
  /** mqtts:// of the listener the enrollment service uses (the certificate listener with an ACL). */
  url: string;
  /** mqtts:// of the listener devices use (the same as url without an ACL). */
  deviceUrl: string;
  /** Stops Mosquitto (SIGTERM, or SIGKILL when `hard`) and starts it again on the same ports. */
  restart(hard?: boolean): Promise<void>;
  stop(): Promise<void>;
}

/** Starts Mosquitto with TLS (server certificate from the dev PKI) on free ports; see MosquittoOptions. */
export async function startMosquitto(o: MosquittoOptions): Promise<MosquittoHandle> {
  const [port, devicePort] = [await freePort(), o.acl ? await freePort() : 0];
  const file = (name: string, text: string) => (writeFileSync(join(o.dir, name), text, { mode: 0o600 }), join(o.dir, name));
  const chain = file('mosquitto-chain.pem', readFileSync(o.serverCertPath, 'utf8') + readFileSync(o.issuingCertPath, 'utf8'));
  const cafile = file('mosquitto-ca.pem', readFileSync(o.rootCertPath, 'utf8') + readFileSync(o.issuingCertPath, 'utf8'));
  const tls = [`cafile ${cafile}`, `certfile ${chain}`, `keyfile ${o.serverKeyPath}`];
  const lines = [
    // Started as root (a container), Mosquitto would drop to its own user, which cannot read the
    // mode-0600 key in this private temp folder; elsewhere the option is ignored.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'per_listener_settings false', 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning',
    'max_inflight_messages 0', 'max_queued_messages 100000', 'set_tcp_nodelay true',
  ];
  if (o.acl) {
    const pw = file('mosquitto.passwd', '');
    // A password nobody is told: certificate identities skip the password check (mosquitto.conf(5),
    // use_identity_as_username), so only a CONNECT claiming the name without a certificate meets it.
    execFileSync('mosquitto_passwd', ['-b', pw, o.acl.serviceUser, randomBytes(24).toString('hex')], { stdio: 'ignore' });
    lines.push(`password_file ${pw}`, `acl_file ${file('mosquitto.acl', o.acl.text)}`,
      `listener ${port} 127.0.0.1`, ...tls, 'require_certificate true', 'use_identity_as_username true',
      `listener ${devicePort} 127.0.0.1`, ...tls, 'require_certificate false');
  } else {
    lines.push(`listener ${port} 127.0.0.1`, ...tls, 'require_certificate false');
  }
  const conf = file('mosquitto.conf', lines.join('\n') + '\n');
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    const c = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    c.on('exit', (code, sig) => child === c && sig === null && process.stderr.write(`mosquitto exited ${code}: ${log}\n`));
    await waitListening(port);
    if (devicePort) await waitListening(devicePort);
  };
  const stop = async (hard = false) => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await gone;
  };
  process.on('exit', () => child?.kill('SIGKILL'));
  await start();
  return {
    url: `mqtts://127.0.0.1:${port}`,
    deviceUrl: `mqtts://127.0.0.1:${devicePort || port}`,
    async restart(hard = false) {
      await stop(hard);
      await start();
    },
    stop: () => stop(),
  };
}

/**
 * Baseline: raw C_Sign/s on one key through pkcs11js in one session (no Keyline code), the
 * ceiling for anything that signs with that key. Loads the module in this process.
 */
export async function rawSoftHsmSignPerSec(o: { softhsmConf: string; tokenLabel: string; pin: string; keyLabel: string; seconds: number }): Promise<number> {
  const { default: pkcs11js } = await import('pkcs11js');
  const { detectSoftHsmModule } = await import('../server/hsm/pkcs11-module.js');
  process.env.SOFTHSM2_CONF = o.softhsmConf;
  const p11 = new pkcs11js.PKCS11();
  p11.load(detectSoftHsmModule());
  p11.C_Initialize();
  try {
    const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === o.tokenLabel)!;
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p11.C_Login(session, pkcs11js.CKU_USER, o.pin);
    p11.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: o.keyLabel }]);
    const [key] = p11.C_FindObjects(session, 1);
    p11.C_FindObjectsFinal(session);
    const digest = Buffer.alloc(32, 7);
    const out = Buffer.alloc(64);
    let n = 0;
    const start = performance.now();
    const end = start + o.seconds * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) {
        p11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key!);
        p11.C_Sign(session, digest, out);
      }
      n += 100;
    }
    const perSec = n / ((performance.now() - start) / 1000);
    p11.C_Logout(session);
    p11.C_CloseSession(session);
    return perSec;
  } finally {
    p11.C_Finalize();
  }
}

/**
 * Baseline: `n` MQTT 5 clients each doing `k` sequential request/response round trips through one
 * echo responder on the same broker (QoS 1, TCP_NODELAY): the ceiling for a protocol that needs
 * round trips through the broker (an enrollment is two). `timed` is called around the timed part
 * only (connections and subscriptions excluded), e.g. to read CPU counters.
 */
export async function mqttRoundTripsPerSec(url: string, ca: string, n: number, k: number, timed?: { start(): void; end(): void }): Promise<{ rtPerSec: number; p50: number; p99: number }> {
  const { default: mqtt } = await import('mqtt');
  type Client = Awaited<ReturnType<typeof mqtt.connectAsync>>;
  const nodelay = (c: Client) => (c.stream as Partial<Socket>).setNoDelay?.(true);
  const opts = { ca, protocolVersion: 5 as const, reconnectPeriod: 0, rejectUnauthorized: true };
  const tag = randomBytes(4).toString('hex');
  const echo = await mqtt.connectAsync(url, { ...opts, clientId: `bench-echo-${tag}` });
  nodelay(echo);
  await echo.subscribeAsync(`bench/${tag}/+/req`, { qos: 1 });
  echo.on('message', (topic, payload, packet) => {
    echo.publish(packet.properties?.responseTopic ?? topic.replace(/req$/, 'res'), payload, { qos: 1, properties: { correlationData: packet.properties?.correlationData ?? Buffer.alloc(0) } });
  });
  const clients = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const c = await mqtt.connectAsync(url, { ...opts, clientId: `bench-${tag}-${i}` });
    nodelay(c);
    await c.subscribeAsync(`bench/${tag}/${i}/res`, { qos: 1 });
    return c;
  }));
  const lat: number[] = [];
  timed?.start();
  const t0 = performance.now();
  await Promise.all(clients.map(async (c, i) => {
    for (let j = 0; j < k; j++) {
      const s = performance.now();
      await new Promise<void>((resolve) => {
        c.once('message', () => resolve());
        c.publish(`bench/${tag}/${i}/req`, Buffer.from(JSON.stringify({ type: 'hello', i, j, pad: 'x'.repeat(600) })), { qos: 1, properties: { responseTopic: `bench/${tag}/${i}/res`, correlationData: Buffer.from(String(j)) } });
      });
      lat.push(performance.now() - s);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  timed?.end();
  await Promise.all([...clients, echo].map((c) => c.endAsync()));
  return { rtPerSec: (n * k) / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}
