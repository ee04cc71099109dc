// Benchmark backend: a fast gRPC-shaped responder on raw node:http2 (h2c), one process, any
// number of ports; run as its own process by the benchmark (`node dist/bench/backend.js`).
//
// Methods (the last path segment decides; the service name is ignored):
//   Unary        reads the request, answers one message, trailers grpc-status 0
//   ServerStream reads the request, answers `bench-messages` messages honouring backpressure
//   Hold         answers headers at once and keeps the stream open until the client cancels
// Message size: the `bench-response-bytes` request header, else --response-bytes (default 10).
// GET /_bench/stats on any port answers JSON: calls answered per port, streams held now.
// A request body that does not end on a gRPC message boundary gets grpc-status 13, so a proxy
// that mangles bodies shows up in the benchmark's gRPC check.
import http2 from 'node:http2';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Largest message the backend builds, so a stray header cannot make it allocate gigabytes. */
const MAX_MESSAGE_BYTES = 16 << 20;

export interface BackendStats {
  /** gRPC calls answered (or, for Hold, accepted) per port since start. */
  readonly calls: Record<string, number>;
  /** Hold streams open now. */
  readonly held: number;
  readonly pid: number;
}

/** Walks length-prefixed gRPC framing over chunks without copying them. */
class FrameWalker {
  private need = 5;
  private inPrefix = true;
  private prefixSeen = 0;
  private length = 0;

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.inPrefix) {
        const b = chunk[off++];
        // Byte 0 is the compressed flag; bytes 1..4 the big-endian length.
        if (this.prefixSeen > 0) this.length = this.length * 256 + b;
        if (++this.prefixSeen === 5) {
          this.need = this.length;
          this.inPrefix = this.need === 0;
          this.prefixSeen = 0;
          this.length = 0;
        }
      } else {
        const take = Math.min(this.need, chunk.length - off);
        off += take;
        this.need -= take;
        if (this.need === 0) this.inPrefix = true;
      }
    }
  }

  /** True when the body so far ends exactly after a whole message (or is empty). */
  get atBoundary(): boolean {
    return this.inPrefix && this.prefixSeen === 0;
  }
}

const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };
const OK_TRAILERS = { 'grpc-status': '0' };

export class BenchBackend {
  private readonly servers: http2.Http2Server[] = [];
  private readonly messages = new Map<number, Buffer>();
  private readonly calls: Record<string, number> = {};
  private held = 0;

  constructor(
    private readonly host: string,
    private readonly defaultBytes: number,
  ) {}

  /** Listens on each port (0: any free one) and resolves with the bound ports, in order. */
  async listen(ports: readonly number[]): Promise<number[]> {
    const bound: number[] = [];
    for (const port of ports) {
      const server = http2.createServer({
        // Generous limits: the backend must never be the side refusing streams or memory,
        // also when 10,000 held streams arrive on a proxy's one or two upstream sessions.
        settings: { maxConcurrentStreams: 100_000, initialWindowSize: 1 << 20 },
        maxSessionMemory: 512,
      });
      server.on('session', (session: http2.ServerHttp2Session) => {
        session.on('error', () => {});
        // The connection window (64 KiB by default) would throttle large request bodies.
        session.setLocalWindowSize(8 << 20);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.host, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      const actual = (server.address() as { port: number }).port;
      this.calls[String(actual)] = 0;
      server.on('stream', (stream, headers) => this.onStream(actual, stream, headers));
      this.servers.push(server);
      bound.push(actual);
    }
    return bound;
  }

  stats(): BackendStats {
    return { calls: { ...this.calls }, held: this.held, pid: process.pid };
  }

  close(): void {
    for (const server of this.servers) server.close();
  }

  /** A whole gRPC message of `bytes` payload bytes, built once per size. */
  private message(bytes: number): Buffer {
    let m = this.messages.get(bytes);
    if (m === undefined) {
      m = Buffer.alloc(5 + bytes, 0x61);
      m[0] = 0;
      m.writeUInt32BE(bytes, 1);
      this.messages.set(bytes, m);
    }
    return m;
  }

  private onStream(
    port: number,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
  ): void {
    stream.on('error', () => {}); // resets from clients are normal under load
    const path = headers[':path'] ?? '';
    if (headers[':method'] === 'GET' && path === '/_bench/stats') {
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify(this.stats()));
      return;
    }
    const method = path.slice(path.lastIndexOf('/') + 1);
    if (headers[':method'] !== 'POST' || !['Unary', 'ServerStream', 'Hold'].includes(method)) {
      stream.respond({ ...RESPONSE_HEADERS, 'grpc-status': '12' }, { endStream: true });
      stream.resume();
      return;
    }
    if (method === 'Hold') {
      this.calls[port]++;
      this.held++;
      stream.once('close', () => this.held--);
      stream.respond(RESPONSE_HEADERS);
      stream.resume();
      return;
    }
    const bytes = numberHeader(headers['bench-response-bytes'], this.defaultBytes);
    const count = method === 'Unary' ? 1 : numberHeader(headers['bench-messages'], 1);
    if (bytes > MAX_MESSAGE_BYTES) {
      stream.respond({ ...RESPONSE_HEADERS, 'grpc-status': '3' }, { endStream: true });
      stream.resume();
      return;
    }
    const walker = new FrameWalker();
    stream.on('data', (chunk: Buffer) => walker.push(chunk));
    stream.on('end', () => {
      if (stream.destroyed) return;
      if (!walker.atBoundary) {
        stream.respond(
          { ...RESPONSE_HEADERS, 'grpc-status': '13', 'grpc-message': 'truncated message' },
          { endStream: true },
        );
        return;
      }
      this.calls[port]++;
      stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
      if (count === 1) stream.end(this.message(bytes));
      else writeMessages(stream, this.message(bytes), count);
    });
  }
}

function numberHeader(value: string | string[] | undefined, fallback: number): number {
  if (typeof value !== 'string') return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** Writes `count` copies of `message`, pausing whenever the stream's buffer is full. */
function writeMessages(stream: http2.ServerHttp2Stream, message: Buffer, count: number): void {
  let left = count;
  const pump = () => {
    while (left > 0 && !stream.destroyed) {
      left--;
      if (left === 0) {
        stream.end(message);
        return;
      }
      if (!stream.write(message)) {
        stream.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      ports: { type: 'string', default: '0,0' },
      'response-bytes': { type: 'string', default: '10' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: backend.js [--host 127.0.0.1] [--ports 0,0] [--response-bytes 10]\n' +
        'Prints one JSON line {"ports":[...],"pid":N} when listening; stops on SIGTERM/SIGINT.\n',
    );
    return;
  }
  const ports = values.ports.split(',').map(Number);
  const bytes = Number(values['response-bytes']);
  if (ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) {
    throw new Error(`--ports: not a list of ports: ${values.ports}`);
  }
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_MESSAGE_BYTES) {
    throw new Error(`--response-bytes: not a size up to ${MAX_MESSAGE_BYTES}: ${bytes}`);
  }
  const backend = new BenchBackend(values.host, bytes);
  const bound = await backend.listen(ports);
  process.stdout.write(`${JSON.stringify({ ports: bound, pid: process.pid })}\n`);
  const stop = () => {
    backend.close();
    // Held streams keep the servers from closing; the benchmark is done with them anyway.
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`backend: ${(err as Error).message}\n`);
    process.exit(2);
  });
}
