// A deliberately slow reader of one large server-streaming response: it pauses after every
// few MiB, so the proxy between it and a faster backend must hold the backend back.
import http2 from 'node:http2';
import { grpcMessage } from './grpc-check.js';

export interface SlowReadOptions {
  /** host:port to call. */
  readonly target: string;
  /** Response payload to ask for, split into messages of `messageBytes`. */
  readonly bytes: number;
  readonly messageBytes: number;
  /** Pause `pauseMs` after each `burstBytes` read. */
  readonly burstBytes: number;
  readonly pauseMs: number;
  readonly timeoutMs: number;
}

export interface SlowRead {
  readonly ok: boolean;
  readonly why?: string;
  readonly grpcStatus?: string;
  /** DATA bytes received (payload plus 5-byte message prefixes). */
  readonly received: number;
  readonly seconds: number;
}

export function readSlowly(options: SlowReadOptions): Promise<SlowRead> {
  const messages = Math.ceil(options.bytes / options.messageBytes);
  const expect = messages * (5 + options.messageBytes);
  return new Promise((resolve) => {
    const start = performance.now();
    const session = http2.connect(`http://${options.target}`);
    let received = 0;
    let burst = 0;
    let grpcStatus: string | undefined;
    let settled = false;
    const finish = (why?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      const seconds = (performance.now() - start) / 1000;
      if (why === undefined && received !== expect) why = `got ${received} B, want ${expect}`;
      if (why === undefined && grpcStatus !== '0') why = `grpc-status ${grpcStatus ?? 'missing'}`;
      resolve({ ok: why === undefined, why, grpcStatus, received, seconds });
    };
    const timer = setTimeout(
      () => finish(`not done within ${options.timeoutMs} ms`),
      options.timeoutMs,
    );
    session.on('error', (err: Error) => finish(err.message));
    const stream = session.request({
      ':method': 'POST',
      ':path': '/bench.Bench/ServerStream',
      'content-type': 'application/grpc',
      te: 'trailers',
      'bench-messages': String(messages),
      'bench-response-bytes': String(options.messageBytes),
    });
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
    });
    stream.on('trailers', (trailers: http2.IncomingHttpHeaders) => {
      if (trailers['grpc-status'] !== undefined) grpcStatus = String(trailers['grpc-status']);
    });
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      burst += chunk.length;
      if (burst >= options.burstBytes) {
        burst = 0;
        // A paused stream stops returning flow-control credit: the sender must wait.
        stream.pause();
        setTimeout(() => stream.resume(), options.pauseMs);
      }
    });
    stream.on('error', (err: Error) => finish(err.message));
    stream.on('close', () => finish());
    stream.end(grpcMessage(10));
  });
}
