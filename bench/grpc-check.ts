// One raw gRPC call over node:http2 that checks what h2load cannot: the response is gRPC, the
// whole body arrives, and the trailers say grpc-status 0.
import http2 from 'node:http2';

export interface GrpcCheckOptions {
  /** host:port to call. */
  readonly target: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** DATA bytes the response must carry. */
  readonly expectBytes: number;
  /** Default 10 s. */
  readonly timeoutMs?: number;
}

export interface GrpcCheck {
  readonly ok: boolean;
  /** What was wrong, when not ok. */
  readonly why?: string;
  readonly grpcStatus?: string;
  readonly bytes: number;
}

/** A length-prefixed, uncompressed gRPC message with `bytes` payload bytes. */
export function grpcMessage(bytes: number): Buffer {
  const m = Buffer.alloc(5 + bytes, 0x62);
  m[0] = 0;
  m.writeUInt32BE(bytes, 1);
  return m;
}

export function grpcCheck(options: GrpcCheckOptions): Promise<GrpcCheck> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://${options.target}`);
    let status: number | undefined;
    let contentType: string | undefined;
    let grpcStatus: string | undefined;
    let bytes = 0;
    let settled = false;
    const finish = (why: string[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(
        why.length === 0
          ? { ok: true, grpcStatus, bytes }
          : { ok: false, why: why.join('; '), grpcStatus, bytes },
      );
    };
    const timer = setTimeout(
      () => finish([`no complete answer within ${options.timeoutMs ?? 10_000} ms`]),
      options.timeoutMs ?? 10_000,
    );
    session.on('error', (err: Error) => finish([err.message]));
    const stream = session.request({
      ':method': 'POST',
      ':path': options.path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...options.headers,
    });
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
      contentType = String(headers['content-type'] ?? '');
      // A trailers-only answer carries grpc-status in the headers.
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
    });
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    stream.on('trailers', (trailers: http2.IncomingHttpHeaders) => {
      if (trailers['grpc-status'] !== undefined) grpcStatus = String(trailers['grpc-status']);
    });
    stream.on('error', (err: Error) => finish([err.message]));
    stream.on('close', () => {
      const why: string[] = [];
      if (status !== 200) why.push(`:status ${status}`);
      if (!contentType?.startsWith('application/grpc')) why.push(`content-type ${contentType}`);
      if (bytes !== options.expectBytes) why.push(`body ${bytes} B, want ${options.expectBytes}`);
      if (grpcStatus !== '0') why.push(`grpc-status ${grpcStatus ?? 'missing'}`);
      finish(why);
    });
    stream.end(options.body);
  });
}
