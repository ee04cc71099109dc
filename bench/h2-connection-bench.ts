// HTTP/2 connection layer benchmark: a client and a server of h2/connection in this process,
// over a loopback socket, exchanging gRPC-shaped unary calls; CPU µs per call (both endpoints,
// the kernel's share of their syscalls included) and socket writes per call, at 1 and at 16
// calls in flight.
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import {
  H2Connection,
  type H2ConnectionHandler,
  H2Stream,
  type H2StreamHandler,
} from '../h2/connection/index.js';
import type { HeaderList } from '../h2/hpack/index.js';

export interface H2ConnectionBenchOptions {
  /** Calls per timed run. Default 20,000. */
  readonly calls?: number;
  /** Timed runs per concurrency (the median is reported). Default 5. */
  readonly runs?: number;
  /** Calls in flight at once. Default [1, 16]. */
  readonly concurrency?: readonly number[];
}

export interface H2ConnectionBenchRow {
  readonly inFlight: number;
  /** Median CPU µs per call, client and server together. */
  readonly cpuUsPerCall: number;
  /** Fastest run's CPU µs per call. */
  readonly cpuUsPerCallBest: number;
  /** Median wall-clock µs per call (1 in flight: the round trip). */
  readonly wallUsPerCall: number;
  /** Socket writes per call, client and server together (2 is one per direction). */
  readonly writesPerCall: number;
}

export interface H2ConnectionBenchResult {
  readonly callsPerRun: number;
  readonly rows: readonly H2ConnectionBenchRow[];
}

const REQUEST = [
  ':method',
  'POST',
  ':scheme',
  'http',
  ':path',
  '/bench.Echo/Unary',
  ':authority',
  'localhost',
  'content-type',
  'application/grpc',
  'te',
  'trailers',
  'user-agent',
  'grpc-node-js/1.14.0',
];
const RESPONSE = [':status', '200', 'content-type', 'application/grpc'];
const TRAILERS = ['grpc-status', '0'];
/** A 10-octet message with gRPC's 5-octet prefix. */
const MESSAGE = Buffer.from([0, 0, 0, 0, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The server: answers each request's END_STREAM with headers, the message and trailers. */
class UnaryServer implements H2StreamHandler {
  onHeaders(): void {}
  onData(stream: H2Stream, _buf: Buffer, start: number, end: number, endStream: boolean): void {
    stream.consume(end - start);
    if (!endStream) return;
    stream.sendHeaders(RESPONSE, false);
    stream.write(MESSAGE);
    stream.sendHeaders(TRAILERS, true);
  }
  onTrailers(): void {}
  onDrain(): void {}
  onClose(): void {}
}

/** The client: counts finished calls and starts the next one in their place. */
class UnaryClient implements H2StreamHandler {
  conn!: H2Connection;
  started = 0;
  finished = 0;
  total = 0;
  done: () => void = () => {};

  start(): void {
    this.started++;
    const stream = this.conn.request(REQUEST, false, this);
    if (!(stream instanceof H2Stream)) throw new Error(`request refused: ${stream.reason}`);
    stream.write(MESSAGE, true);
  }
  onHeaders(): void {}
  onData(stream: H2Stream, _buf: Buffer, start: number, end: number): void {
    stream.consume(end - start);
  }
  onTrailers(): void {}
  onDrain(): void {}
  onClose(): void {
    this.finished++;
    if (this.started < this.total) this.start();
    else if (this.finished === this.total) this.done();
  }
}

async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const other = await accepted;
  server.close();
  client.setNoDelay(true);
  other.setNoDelay(true);
  return [client, other];
}

function countWrites(socket: net.Socket, counter: { n: number }): void {
  const write: (chunk: Buffer) => boolean = socket.write.bind(socket);
  const counted = (chunk: Buffer): boolean => {
    counter.n++;
    return write(chunk);
  };
  socket.write = counted;
}

export async function h2ConnectionBench(
  options: H2ConnectionBenchOptions = {},
): Promise<H2ConnectionBenchResult> {
  const calls = options.calls ?? 20_000;
  const runs = options.runs ?? 5;
  const [clientSocket, serverSocket] = await socketPair();
  const writes = { n: 0 };
  countWrites(clientSocket, writes);
  countWrites(serverSocket, writes);
  const unaryServer = new UnaryServer();
  const unaryClient = new UnaryClient();
  let ready!: () => void;
  const settled = new Promise<void>((r) => (ready = r));
  const quiet: Omit<H2ConnectionHandler, 'onStream' | 'onSettings'> = {
    onGoaway() {},
    onClose() {},
  };
  const server = new H2Connection(
    serverSocket,
    { ...quiet, onStream: (_s: H2Stream, _l: HeaderList) => unaryServer, onSettings() {} },
    { role: 'server' },
  );
  const client = new H2Connection(
    clientSocket,
    { ...quiet, onStream: () => unaryServer, onSettings: () => ready() },
    { role: 'client', maxStreamId: 0x7fffffff },
  );
  unaryClient.conn = client;
  await settled;
  const once = (n: number, inFlight: number) =>
    new Promise<void>((resolve) => {
      unaryClient.started = 0;
      unaryClient.finished = 0;
      unaryClient.total = n;
      unaryClient.done = resolve;
      for (let i = 0; i < Math.min(inFlight, n); i++) unaryClient.start();
    });
  try {
    const rows: H2ConnectionBenchRow[] = [];
    for (const inFlight of options.concurrency ?? [1, 16]) {
      await once(Math.min(calls, 2_000), inFlight); // warm-up
      const cpu: number[] = [];
      const wall: number[] = [];
      const perCallWrites: number[] = [];
      for (let r = 0; r < runs; r++) {
        writes.n = 0;
        const c0 = cpuUs();
        const t0 = performance.now();
        await once(calls, inFlight);
        wall.push(((performance.now() - t0) * 1000) / calls);
        cpu.push((cpuUs() - c0) / calls);
        perCallWrites.push(writes.n / calls);
      }
      rows.push({
        inFlight,
        cpuUsPerCall: Math.round(median(cpu) * 100) / 100,
        cpuUsPerCallBest: Math.round(Math.min(...cpu) * 100) / 100,
        wallUsPerCall: Math.round(median(wall) * 100) / 100,
        writesPerCall: Math.round(median(perCallWrites) * 100) / 100,
      });
    }
    return { callsPerRun: calls, rows };
  } finally {
    client.destroy();
    server.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await h2ConnectionBench();
  console.table(result.rows);
}
