/**
 * The load client bench:issue drives Keyline and cfssl with: K keep-alive TLS connections with a
 * client certificate, one HTTP/1.1 request at a time on each, the request written in one piece
 * and the response read by Content-Length (or chunked). Node's https.Agent and ClientRequest
 * cost ~190 µs of CPU per request on this machine, about what the server under test spends:
 * on two shared cores the client would decide the figure. This one costs ~55 µs, the same for
 * both servers, so their ratio is theirs.
 */
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';

/** Where to connect and as whom. */
export interface LoadClientOptions {
  host: string;
  port: number;
  /** PEM client certificate (chain), key, and the CA that signed the server's certificate. */
  cert: string;
  key: string;
  ca: string;
  /** The server certificate's name, when it is not `host`. */
  servername?: string;
  /** A request without an answer after this long fails and its connection is dropped (default 30 s). */
  timeoutMs?: number;
}

/** A response: status, the header block as text, and the body. */
export interface LoadResponse {
  status: number;
  head: string;
  body: Buffer;
}

/** One keep-alive connection; reconnects after the server closes it (Connection: close). */
class Connection {
  #socket: TLSSocket | undefined;
  /** What has arrived of the current response: the head once read, the body's pieces. */
  #head: { text: string; lower: string; bodyAt: number; length: number | undefined } | undefined;
  #parts: Buffer[] = [];
  #size = 0;
  #pending: { resolve: (r: LoadResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly o: LoadClientOptions, private readonly context: SecureContext) {}

  send(request: Buffer): Promise<LoadResponse> {
    return this.#open().then((socket) => new Promise<LoadResponse>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`no answer after ${this.o.timeoutMs ?? 30_000} ms`)), this.o.timeoutMs ?? 30_000);
      this.#pending = { resolve, reject, timer };
      socket.write(request);
    }));
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  async #open(): Promise<TLSSocket> {
    if (this.#socket && !this.#socket.destroyed) return this.#socket;
    // One context for every connection: building it parses the key and certificates again, a
    // cost per connection (a batch answer closes its connection) the servers under test never see.
    const s = connect({ host: this.o.host, port: this.o.port, secureContext: this.context, servername: this.o.servername ?? this.o.host });
    await new Promise<void>((resolve, reject) => {
      s.once('secureConnect', resolve);
      s.once('error', reject);
    });
    s.setNoDelay(true);
    this.#reset();
    s.on('data', (d: Buffer) => this.#onData(d));
    s.on('error', (e) => this.#fail(e));
    s.on('close', () => this.#fail(new Error('connection closed by the server')));
    this.#socket = s;
    return s;
  }

  #fail(e: Error): void {
    this.close();
    const p = this.#pending;
    this.#pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }

  #reset(): void {
    this.#head = undefined;
    this.#parts = [];
    this.#size = 0;
  }

  // Pieces are kept as they come and joined once the answer is whole (a batch answer arrives in
  // several TLS records: joining at every record copied it again each time).
  #onData(d: Buffer): void {
    this.#parts.push(d);
    this.#size += d.length;
    if (!this.#head) {
      const buf = this.#parts.length > 1 ? Buffer.concat(this.#parts) : d;
      this.#parts = [buf];
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = buf.toString('latin1', 0, end);
      const lower = text.toLowerCase();
      const length = /\r\ncontent-length:\s*(\d+)/.exec(lower);
      if (!length && !lower.includes('\r\ntransfer-encoding: chunked')) {
        this.#fail(new Error(`response without a length: ${text.slice(0, 200)}`));
        return;
      }
      this.#head = { text, lower, bodyAt: end + 4, length: length ? Number(length[1]) : undefined };
    }
    const h = this.#head;
    let body: Buffer | undefined;
    if (h.length !== undefined) {
      if (this.#size < h.bodyAt + h.length) return;
      const all = this.#parts.length > 1 ? Buffer.concat(this.#parts, this.#size) : this.#parts[0]!;
      body = all.subarray(h.bodyAt, h.bodyAt + h.length);
    } else {
      const all = this.#parts.length > 1 ? Buffer.concat(this.#parts, this.#size) : this.#parts[0]!;
      this.#parts = [all];
      body = readChunked(all, h.bodyAt);
      if (!body) return;
    }
    const p = this.#pending;
    this.#pending = undefined;
    this.#reset();
    if (h.lower.includes('\r\nconnection: close')) this.close();
    if (p) {
      clearTimeout(p.timer);
      p.resolve({ status: Number(h.text.slice(9, 12)), head: h.text, body });
    }
  }
}

/** The body of a complete chunked message starting at `at`, or undefined while incomplete. */
function readChunked(buf: Buffer, at: number): Buffer | undefined {
  const parts: Buffer[] = [];
  for (let i = at; ;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return undefined;
    const n = parseInt(buf.toString('latin1', i, eol), 16);
    if (n === 0) return Buffer.concat(parts);
    if (buf.length < eol + 2 + n + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + n));
    i = eol + 2 + n + 2;
  }
}

/** K connections; each request takes a free one (or waits for one). */
export class LoadClient {
  readonly #o: LoadClientOptions;
  readonly #all: Connection[];
  readonly #free: Connection[];
  readonly #waiting: Array<(c: Connection) => void> = [];

  constructor(o: LoadClientOptions, connections: number) {
    this.#o = o;
    const context = createSecureContext({ cert: o.cert, key: o.key, ca: o.ca });
    this.#all = Array.from({ length: connections }, () => new Connection(o, context));
    this.#free = [...this.#all];
  }

  /** POSTs `json` (already serialised) to `path`. */
  async post(path: string, json: string): Promise<LoadResponse> {
    const c = this.#free.pop() ?? (await new Promise<Connection>((resolve) => this.#waiting.push(resolve)));
    try {
      const body = Buffer.from(json);
      const head = `POST ${path} HTTP/1.1\r\nhost: ${this.#o.host}:${this.#o.port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
      return await c.send(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    } finally {
      const next = this.#waiting.shift();
      if (next) next(c);
      else this.#free.push(c);
    }
  }

  /** Drops every connection. */
  close(): void {
    for (const c of this.#all) c.close();
  }
}
