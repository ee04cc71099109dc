// A node:http2 client that opens many server-streaming calls at once and holds them open
// (h2load cannot), so the benchmark can weigh what one open stream costs, then cancels them.
import http2 from 'node:http2';
import { grpcMessage } from './grpc-check.js';

export interface OpenStreamsOptions {
  /** host:port to call. */
  readonly target: string;
  readonly streams: number;
  /** Client connections the streams are spread over, round robin. */
  readonly connections: number;
  /** Path of a method that answers headers and then holds the stream. */
  readonly path: string;
  /** Give up waiting for answers after this long. */
  readonly timeoutMs: number;
}

export interface HeldStreams {
  /** Streams whose response headers arrived (status 200). */
  readonly opened: number;
  /** Streams refused, reset or answered with another status before the timeout. */
  readonly failed: number;
  /** Time until every stream was answered or failed (or the timeout). */
  readonly openMs: number;
  /** Cancels every stream (RST_STREAM CANCEL); resolves with the ms until all have closed. */
  cancel(timeoutMs: number): Promise<number>;
  /** Destroys the connections. */
  close(): void;
}

function connect(target: string, streams: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${target}`, {
      // Until the server's SETTINGS arrive nghttp2 assumes 100; and the 10 MB default memory
      // cap refuses new streams long before thousands are open.
      peerMaxConcurrentStreams: streams,
      maxSessionMemory: 256,
    });
    const fail = (err: Error) => reject(err);
    session.once('error', fail);
    session.once('remoteSettings', () => {
      session.removeListener('error', fail);
      session.on('error', () => {});
      resolve(session);
    });
  });
}

/** Opens `streams` calls over `connections` sessions and waits until each is answered. */
export async function openStreams(options: OpenStreamsOptions): Promise<HeldStreams> {
  const perSession = Math.ceil(options.streams / options.connections);
  const sessions: http2.ClientHttp2Session[] = [];
  const streams: http2.ClientHttp2Stream[] = [];
  try {
    for (let i = 0; i < options.connections; i++) {
      sessions.push(await connect(options.target, perSession));
    }
  } catch (err) {
    for (const s of sessions) s.destroy();
    throw err;
  }
  const body = grpcMessage(10);
  const start = performance.now();
  let opened = 0;
  let failed = 0;
  let closed = 0;
  let onSettled: (() => void) | undefined;
  let onAllClosed: (() => void) | undefined;
  const settle = () => {
    if (opened + failed === options.streams) onSettled?.();
  };
  for (let i = 0; i < options.streams; i++) {
    const stream = sessions[i % sessions.length].request({
      ':method': 'POST',
      ':path': options.path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let answered = false;
    stream.on('response', (headers) => {
      answered = true;
      if (headers[':status'] === 200 && headers['grpc-status'] === undefined) opened++;
      else failed++;
      settle();
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      if (!answered) {
        answered = true;
        failed++;
        settle();
      }
      if (++closed === options.streams) onAllClosed?.();
    });
    stream.end(body);
    streams.push(stream);
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, options.timeoutMs);
    onSettled = () => {
      clearTimeout(timer);
      resolve();
    };
    settle();
  });
  const openMs = Math.round(performance.now() - start);
  return {
    opened,
    failed: options.streams - opened,
    openMs,
    cancel(timeoutMs: number) {
      const t0 = performance.now();
      return new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(Math.round(performance.now() - t0)), timeoutMs);
        onAllClosed = () => {
          clearTimeout(timer);
          resolve(Math.round(performance.now() - t0));
        };
        for (const s of streams) if (!s.closed) s.close(http2.constants.NGHTTP2_CANCEL);
        if (closed === options.streams) onAllClosed();
      });
    },
    close() {
      for (const s of sessions) s.destroy();
    },
  };
}
