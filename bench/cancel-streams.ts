// A client that cancels server-streaming calls without reading them: each call's backend has
// written its whole answer by the time the cancel comes, so whatever the proxy read ahead
// must be given back at the cancel. A fresh connection every few hundred calls keeps the
// client under the resets a proxy allows one connection.
import http2 from 'node:http2';
import { grpcMessage } from './grpc-check.js';

export interface CancelStreamsOptions {
  /** host:port to call. */
  readonly target: string;
  readonly streams: number;
  /** Calls in flight at once. */
  readonly concurrency: number;
  /** Calls per client connection. */
  readonly perConnection: number;
  /** Each answer: `messages` messages of `messageBytes`. */
  readonly messages: number;
  readonly messageBytes: number;
  /** Give up on a call not answered within this long. */
  readonly timeoutMs: number;
}

export interface CancelledStreams {
  /** Calls answered with headers, then cancelled. */
  readonly cancelled: number;
  /** Calls not answered in time, refused or reset before their headers. */
  readonly failed: number;
  readonly seconds: number;
}

/** Cancel this long after the response headers: the backend writes the rest meanwhile. */
const CANCEL_AFTER_MS = 20;

function connect(target: string): http2.ClientHttp2Session {
  const session = http2.connect(`http://${target}`);
  session.on('error', () => {});
  return session;
}

function cancelOne(
  session: http2.ClientHttp2Session,
  options: CancelStreamsOptions,
  body: Buffer,
): Promise<boolean> {
  return new Promise((resolve) => {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({
        ':method': 'POST',
        ':path': '/bench.Bench/ServerStream',
        'content-type': 'application/grpc',
        te: 'trailers',
        'bench-messages': String(options.messages),
        'bench-response-bytes': String(options.messageBytes),
      });
    } catch {
      resolve(false);
      return;
    }
    let answered = false;
    stream.on('error', () => {});
    // Never read: the client's 64 KiB window fills and the rest waits in the proxy.
    stream.pause();
    const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), options.timeoutMs);
    stream.once('response', (headers) => {
      answered = headers[':status'] === 200 && headers['grpc-status'] === undefined;
      setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), CANCEL_AFTER_MS);
    });
    stream.once('close', () => {
      clearTimeout(timer);
      resolve(answered);
    });
    stream.end(body);
  });
}

export async function cancelUnreadStreams(
  options: CancelStreamsOptions,
): Promise<CancelledStreams> {
  const body = grpcMessage(10);
  const start = performance.now();
  let cancelled = 0;
  let session = connect(options.target);
  try {
    for (let sent = 0; sent < options.streams;) {
      if (sent > 0 && sent % options.perConnection === 0) {
        session.close();
        session = connect(options.target);
      }
      const n = Math.min(
        options.concurrency,
        options.streams - sent,
        options.perConnection - (sent % options.perConnection),
      );
      const results = await Promise.all(
        Array.from({ length: n }, () => cancelOne(session, options, body)),
      );
      cancelled += results.filter(Boolean).length;
      sent += n;
    }
  } finally {
    session.destroy();
  }
  return {
    cancelled,
    failed: options.streams - cancelled,
    seconds: Math.round(performance.now() - start) / 1000,
  };
}
