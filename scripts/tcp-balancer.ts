/**
 * A small TCP load balancer for trying replicas on one machine (`npm run test:scale`, the README's
 * deployment section): round robin over backends, bytes passed through untouched, so TLS and the
 * station's client certificate reach the replica (mTLS ends there, not here). A backend that
 * refuses a connection is skipped for `downMs` and the next one is tried; connections already
 * open to a replica that dies are closed, as a real pass-through balancer (HAProxy `mode tcp`,
 * nginx `stream`) would do. Not for production: use one of those.
 *
 *   node --import tsx scripts/tcp-balancer.ts --listen 127.0.0.1:8443 --backend 127.0.0.1:9443 --backend 127.0.0.1:9444
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

/** A host and port. */
export interface Backend {
  host: string;
  port: number;
}

/** Options of startTcpBalancer. */
export interface TcpBalancerOptions {
  backends: Backend[];
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** How long a backend that refused a connection is skipped (default 1000 ms). */
  downMs?: number;
}

/** A running balancer. */
export interface TcpBalancer {
  host: string;
  port: number;
  /** Connections passed to each backend (index as given) and refused outright (every backend down). */
  stats(): { perBackend: number[]; refused: number };
  close(): Promise<void>;
}

/** Starts the balancer; resolves once it listens. */
export async function startTcpBalancer(o: TcpBalancerOptions): Promise<TcpBalancer> {
  if (o.backends.length === 0) throw new Error('tcp balancer: no backends');
  const downUntil = o.backends.map(() => 0);
  const perBackend = o.backends.map(() => 0);
  const open = new Set<Socket>();
  let next = 0;
  let refused = 0;

  /** Connects to the next live backend, trying each at most once. */
  const pick = (tried: number, done: (s: Socket | null, i: number) => void): void => {
    if (tried >= o.backends.length) return done(null, -1);
    const now = Date.now();
    let i = next++ % o.backends.length;
    // Prefer a backend not marked down; if all are, try the round-robin one anyway.
    for (let k = 0; k < o.backends.length && downUntil[i]! > now; k++) i = next++ % o.backends.length;
    const b = o.backends[i]!;
    const s = connect(b.port, b.host);
    s.once('connect', () => done(s, i));
    s.once('error', () => {
      downUntil[i] = Date.now() + (o.downMs ?? 1000);
      s.destroy();
      pick(tried + 1, done);
    });
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    client.once('close', () => open.delete(client));
    pick(0, (up, i) => {
      if (!up || client.destroyed) {
        if (!up) refused++;
        up?.destroy();
        client.destroy();
        return;
      }
      perBackend[i]!++;
      open.add(up);
      up.setNoDelay(true);
      up.removeAllListeners('error');
      up.on('error', () => up.destroy());
      up.once('close', () => (open.delete(up), client.destroy()));
      client.once('close', () => up.destroy());
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    host: addr.address,
    port: addr.port,
    stats: () => ({ perBackend: [...perBackend], refused }),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of open) s.destroy();
    }),
  };
}

function hostPort(s: string): Backend {
  const m = /^(.+):(\d+)$/.exec(s);
  if (!m) throw new Error(`expected HOST:PORT, got '${s}'`);
  return { host: m[1]!, port: Number(m[2]) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { listen: { type: 'string', default: '127.0.0.1:0' }, backend: { type: 'string', multiple: true, default: [] } } });
  const at = hostPort(values.listen);
  const lb = await startTcpBalancer({ host: at.host, port: at.port, backends: values.backend.map(hostPort) });
  process.stdout.write(`balancer ${lb.host}:${lb.port} -> ${values.backend.join(', ')}\n`);
  const stop = () => void lb.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
