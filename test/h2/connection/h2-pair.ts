// Test helpers for the connection layer: a loopback socket pair, an echo server and a client
// stream handler that records what arrives.
import net from 'node:net';
import {
  H2Connection,
  type H2ConnectionError,
  type H2ConnectionOptions,
  type H2Stream,
  type H2StreamHandler,
  type StreamOutcome,
} from '../../../h2/connection/index.js';
import type { HeaderList } from '../../../h2/hpack/index.js';

/** Two connected TCP sockets on loopback: [client side, server side]. */
export async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const serverSide = await accepted;
  server.close();
  client.setNoDelay(true);
  serverSide.setNoDelay(true);
  return [client, serverSide];
}

/**
 * A server that answers every request with 200, echoes the body back as it arrives
 * (consuming it only as the echo is accepted), and ends with trailers `grpc-status: 0`.
 * `consume: false` holds all request data unconsumed (a stalled reader).
 */
export class EchoServer implements H2StreamHandler {
  readonly requests: string[][] = [];
  closedWith: H2ConnectionError | null | undefined = undefined;
  readonly outcomes: Array<[number, StreamOutcome, number]> = [];
  goaways = 0;
  onRequest: ((stream: H2Stream) => void) | undefined;
  consume = true;
  /** False: never end the response (streams stay half-closed once the request ends). */
  answer = true;
  readonly pending = new Map<H2Stream, number>();

  onStream(stream: H2Stream, list: HeaderList, endStream: boolean): H2StreamHandler {
    this.requests.push(list.toArray());
    stream.sendHeaders([':status', '200', 'content-type', 'application/grpc'], false);
    this.onRequest?.(stream);
    if (endStream && !stream.closed && this.answer) stream.sendHeaders(['grpc-status', '0'], true);
    return this;
  }
  onHeaders(): void {}
  onData(stream: H2Stream, buf: Buffer, start: number, end: number, endStream: boolean): void {
    if (end > start) {
      // Copy: the echo is queued by reference and the chunk is the socket's.
      stream.write(Buffer.from(buf.subarray(start, end)));
      if (this.consume) stream.consume(end - start);
      else this.pending.set(stream, (this.pending.get(stream) ?? 0) + end - start);
    }
    if (endStream && this.answer) stream.sendHeaders(['grpc-status', '0'], true);
  }
  onTrailers(stream: H2Stream): void {
    if (this.answer) stream.sendHeaders(['grpc-status', '0'], true);
  }
  onDrain(): void {}
  onClose(stream: H2Stream, outcome: StreamOutcome, code: number): void {
    this.outcomes.push([stream.id, outcome, code]);
  }
  onSettings(): void {}
  onGoaway(): void {
    this.goaways++;
  }
  onClose2(error: H2ConnectionError | null): void {
    this.closedWith = error;
  }
}

/** What one client stream received. */
export interface StreamRecord {
  headers: string[] | undefined;
  data: Buffer[];
  trailers: string[] | undefined;
  outcome: StreamOutcome | undefined;
  code: number;
  drains: number;
  done: Promise<void>;
}

/** Records each client stream's events in `stream.context` (a StreamRecord). */
export class RecordingClient implements H2StreamHandler {
  /** Consume DATA as it arrives (false: the test consumes). */
  consume = true;
  goaway: [number, number] | undefined;
  closedWith: H2ConnectionError | null | undefined = undefined;
  private readonly resolvers = new Map<H2Stream, () => void>();

  track(stream: H2Stream): StreamRecord {
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const record: StreamRecord = {
      headers: undefined,
      data: [],
      trailers: undefined,
      outcome: undefined,
      code: 0,
      drains: 0,
      done,
    };
    stream.context = record;
    this.resolvers.set(stream, resolve);
    return record;
  }
  onStream(): H2StreamHandler {
    throw new Error('a client gets no streams');
  }
  onHeaders(stream: H2Stream, list: HeaderList): void {
    (stream.context as StreamRecord).headers = list.toArray();
  }
  onData(stream: H2Stream, buf: Buffer, start: number, end: number): void {
    (stream.context as StreamRecord).data.push(Buffer.from(buf.subarray(start, end)));
    if (this.consume) stream.consume(end - start);
  }
  onTrailers(stream: H2Stream, list: HeaderList): void {
    (stream.context as StreamRecord).trailers = list.toArray();
  }
  onDrain(stream: H2Stream): void {
    (stream.context as StreamRecord).drains++;
  }
  onClose(stream: H2Stream, outcome: StreamOutcome, code: number): void {
    const record = stream.context as StreamRecord;
    record.outcome = outcome;
    record.code = code;
    this.resolvers.get(stream)?.();
    this.resolvers.delete(stream);
  }
  onSettings(): void {}
  onGoaway(lastStreamId: number, code: number): void {
    this.goaway = [lastStreamId, code];
  }
}

export interface Pair {
  client: H2Connection;
  server: H2Connection;
  echo: EchoServer;
  recorder: RecordingClient;
  clientSocket: net.Socket;
  serverSocket: net.Socket;
  close(): void;
}

/** A client and an echo server of this layer over loopback, handshake done. */
export async function connectedPair(
  serverOptions: Partial<H2ConnectionOptions> = {},
  clientOptions: Partial<H2ConnectionOptions> = {},
): Promise<Pair> {
  const [clientSocket, serverSocket] = await socketPair();
  const echo = new EchoServer();
  const recorder = new RecordingClient();
  let serverReady!: () => void;
  let clientReady!: () => void;
  const ready = Promise.all([
    new Promise<void>((r) => (serverReady = r)),
    new Promise<void>((r) => (clientReady = r)),
  ]);
  const server = new H2Connection(
    serverSocket,
    {
      onStream: (s, l, e) => echo.onStream(s, l, e),
      onSettings: () => serverReady(),
      onGoaway: () => echo.onGoaway(),
      onClose: (err) => echo.onClose2(err),
    },
    { role: 'server', ...serverOptions },
  );
  const client = new H2Connection(
    clientSocket,
    {
      onStream: () => recorder.onStream(),
      onSettings: () => clientReady(),
      onGoaway: (l, c) => recorder.onGoaway(l, c),
      onClose: (err) => (recorder.closedWith = err),
    },
    { role: 'client', ...clientOptions },
  );
  await ready;
  return {
    client,
    server,
    echo,
    recorder,
    clientSocket,
    serverSocket,
    close() {
      client.destroy();
      server.destroy();
    },
  };
}

export const REQUEST = [
  ':method',
  'POST',
  ':scheme',
  'http',
  ':path',
  '/echo.Echo/Unary',
  ':authority',
  'localhost',
  'content-type',
  'application/grpc',
  'te',
  'trailers',
];

/** Resolves once `check()` holds, polling every few ms; rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A listener whose connections are echo servers of this layer, for raw-frame clients. */
export interface EchoListener {
  readonly port: number;
  readonly connections: H2Connection[];
  readonly echo: EchoServer;
  close(): Promise<void>;
}

export async function startEchoListener(
  options: Partial<H2ConnectionOptions> = {},
): Promise<EchoListener> {
  const echo = new EchoServer();
  const connections: H2Connection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    connections.push(
      new H2Connection(
        socket,
        {
          onStream: (s, l, e) => echo.onStream(s, l, e),
          onSettings: () => {},
          onGoaway: () => echo.onGoaway(),
          onClose: (err) => echo.onClose2(err),
        },
        { role: 'server', ...options },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    echo,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
