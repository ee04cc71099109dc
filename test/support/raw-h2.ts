// A raw node:http2 client for tests that must see frames as they are: trailers-only answers,
// HTTP statuses, resets, malformed bodies.
import http2 from 'node:http2';

export interface RawResponse {
  readonly headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader;
  /** True when the response HEADERS frame carried END_STREAM (trailers-only). */
  readonly endStreamOnHeaders: boolean;
  readonly body: Buffer;
  readonly trailers: http2.IncomingHttpHeaders | undefined;
  readonly rstCode: number | undefined;
}

/** Frames one gRPC message: 1 byte flags, 4 bytes length, payload. */
export function grpcFrame(payload: Buffer): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** test.EchoRequest fields that are whole numbers, by field number (see echo.proto). */
const ECHO_FIELDS = { responseCount: 2, responseSize: 3, statusCode: 4, delayMs: 6 } as const;

/**
 * One framed test.EchoRequest with the given number fields, built by hand (protobuf varints),
 * for clients that speak raw HTTP/2 rather than through grpc-js.
 */
export function echoRequestFrame(
  fields: Partial<Record<keyof typeof ECHO_FIELDS, number>>,
): Buffer {
  const bytes: number[] = [];
  for (const [name, number] of Object.entries(ECHO_FIELDS)) {
    let v = fields[name as keyof typeof ECHO_FIELDS];
    if (v === undefined || v === 0) continue;
    bytes.push(number << 3);
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    bytes.push(v);
  }
  return grpcFrame(Buffer.from(bytes));
}

export function rawRequest(
  target: string,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer | undefined,
  timeoutMs = 5_000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${target}`);
    session.on('error', reject);
    const stream = session.request(headers, { endStream: body === undefined });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let responseHeaders: RawResponse['headers'] | undefined;
    let endStreamOnHeaders = false;
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h, flags) => {
      responseHeaders = h;
      endStreamOnHeaders = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('close', () => {
      clearTimeout(timer);
      session.close();
      if (!responseHeaders) {
        reject(new Error(`stream closed without a response (rst ${stream.rstCode})`));
        return;
      }
      resolve({
        headers: responseHeaders,
        endStreamOnHeaders,
        body: Buffer.concat(chunks),
        trailers,
        rstCode: stream.rstCode,
      });
    });
    if (body !== undefined) stream.end(body);
  });
}

/** Headers of a plain gRPC request to `path`. */
export function grpcHeaders(
  path: string,
  extra: http2.OutgoingHttpHeaders = {},
): http2.OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...extra,
  };
}
