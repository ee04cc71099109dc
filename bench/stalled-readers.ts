// Clients that never open their flow-control window: each connection advertises a stream
// window of 0, opens server-streaming calls for large answers and never reads, so whatever the
// proxy reads ahead for them is memory it holds for nothing.
import http2 from 'node:http2';
import { grpcMessage } from './grpc-check.js';

export interface StalledReadersOptions {
  /** host:port to call. */
  readonly target: string;
  readonly connections: number;
  readonly streamsPerConnection: number;
  /** Each answer: `messages` messages of `messageBytes`. */
  readonly messages: number;
  readonly messageBytes: number;
  /** Wait this long for the answers' headers. */
  readonly timeoutMs: number;
}

export interface StalledReaders {
  /** Streams answered with headers. */
  readonly answered: number;
  /** Streams reset by the proxy so far (any code), and refused. */
  readonly reset: number;
  /** Resets the streams and closes the connections. */
  close(): void;
}

function connect(target: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${target}`, {
      settings: { initialWindowSize: 0 },
      maxSessionMemory: 256,
    });
    session.once('error', reject);
    session.once('remoteSettings', () => {
      session.removeListener('error', reject);
      session.on('error', () => {});
      resolve(session);
    });
  });
}

/** Opens the streams and resolves once each is answered (or the timeout passed). */
export async function holdStalledReaders(options: StalledReadersOptions): Promise<StalledReaders> {
  const sessions: http2.ClientHttp2Session[] = [];
  try {
    for (let i = 0; i < options.connections; i++) sessions.push(await connect(options.target));
  } catch (err) {
    for (const s of sessions) s.destroy();
    throw err;
  }
  const body = grpcMessage(10);
  const total = options.connections * options.streamsPerConnection;
  let answered = 0;
  let reset = 0;
  let settled = 0;
  let onSettled: (() => void) | undefined;
  const streams: http2.ClientHttp2Stream[] = [];
  for (const session of sessions) {
    for (let i = 0; i < options.streamsPerConnection; i++) {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/bench.Bench/ServerStream',
        'content-type': 'application/grpc',
        te: 'trailers',
        'bench-messages': String(options.messages),
        'bench-response-bytes': String(options.messageBytes),
      });
      stream.pause();
      stream.on('error', () => {});
      let done = false;
      const settle = () => {
        if (done) return;
        done = true;
        if (++settled === total) onSettled?.();
      };
      stream.once('response', () => {
        answered++;
        settle();
      });
      stream.once('close', () => {
        if (stream.rstCode !== undefined && stream.rstCode !== 0) reset++;
        settle();
      });
      stream.end(body);
      streams.push(stream);
    }
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, options.timeoutMs);
    onSettled = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return {
    answered,
    get reset() {
      return reset;
    },
    close() {
      for (const s of streams) if (!s.closed) s.close(http2.constants.NGHTTP2_CANCEL);
      for (const s of sessions) s.destroy();
    },
  };
}
