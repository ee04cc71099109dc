// gRPC-Web (grpc/grpc doc/PROTOCOL-WEB.md) on the gateway's HTTP/1.1 and HTTP/2: the request's
// length-prefixed messages go upstream as they are, response DATA comes back as it is, and the
// trailers become the 0x80 frame at the end of the body (or the headers of a trailers-only
// answer). `application/grpc-web-text` is the same in base64, both ways. No descriptors needed.
import { encodeGrpcMessage, Status } from '../grpc/grpc-status.js';
import { parseGrpcTimeout } from '../grpc/grpc-timeout.js';
import {
  BodyTooLarge,
  HOP_BY_HOP,
  type HttpExchange,
  type ResponseHeaders,
} from './http-exchange.js';
import type { GatewayUpstream, MetadataFields } from './upstream.js';

const BINARY_TYPE = 'application/grpc-web+proto';
const TEXT_TYPE = 'application/grpc-web-text+proto';

/**
 * Which gRPC-Web flavour a content-type names: binary, text (base64), another codec
 * (`+json`: refused, as the bytes are passed on and backends speak protobuf), or null for none.
 */
export function grpcWebKind(contentType: string | undefined): 'binary' | 'text' | 'other' | null {
  if (contentType === undefined || !contentType.startsWith('application/grpc-web')) return null;
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim();
  switch (type) {
    case 'application/grpc-web':
    case 'application/grpc-web+proto':
      return 'binary';
    case 'application/grpc-web-text':
    case 'application/grpc-web-text+proto':
      return 'text';
    default:
      return type.startsWith('application/grpc-web+') ||
        type.startsWith('application/grpc-web-text+')
        ? 'other'
        : null;
  }
}

/**
 * Request headers that are the browser's or the protocol's, not the call's metadata. Everything
 * else is metadata in gRPC-Web (a custom header is how a browser client sends it).
 */
const NOT_METADATA = new Set([
  ...HOP_BY_HOP,
  'accept',
  'accept-encoding',
  'accept-language',
  'origin',
  'referer',
  'cookie',
  'priority',
  'x-grpc-web',
  'x-user-agent',
  'pragma',
  'cache-control',
  'dnt',
]);

/** Upstream response headers that describe the gRPC transport rather than the call. */
const NOT_RESPONSE_METADATA = new Set([
  'content-type',
  'content-length',
  'grpc-encoding',
  'grpc-accept-encoding',
  'date',
  'te',
  'trailer',
]);

/** Decodes base64 that may be several padded pieces one after another (text mode is chunked). */
export function decodeChunkedBase64(text: string): Buffer | null {
  const clean = text.replace(/[\r\n\t ]/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)*$/.test(clean)) return null;
  const pad = clean.indexOf('=');
  if (pad < 0 || pad >= clean.length - 2) return Buffer.from(clean, 'base64');
  // Padding mid-body: decode group by padded group.
  const parts: Buffer[] = [];
  for (const piece of clean.match(/[A-Za-z0-9+/]*(?:==|=)?/g) ?? []) {
    if (piece.length > 0) parts.push(Buffer.from(piece, 'base64'));
  }
  return Buffer.concat(parts);
}

/** Whether `body` is whole length-prefixed messages; a problem otherwise. */
function checkFrames(body: Buffer): string | null {
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) return 'the request body ends inside a message prefix';
    const length = body.readUInt32BE(at + 1);
    if (body.length - at - 5 < length) return 'the request body ends inside a message';
    at += 5 + length;
  }
  return null;
}

/** The trailers frame: flag 0x80, length, then `name: value\r\n` lines with lower-case names. */
export function trailersFrame(code: number, message: string, trailers: MetadataFields): Buffer {
  let block = `grpc-status: ${code}\r\n`;
  if (message.length > 0) block += `grpc-message: ${encodeGrpcMessage(message)}\r\n`;
  for (let i = 0; i < trailers.length; i += 2) {
    const name = trailers[i];
    if (name === 'grpc-status' || name === 'grpc-message' || name.charCodeAt(0) === 0x3a) continue;
    block += `${name}: ${trailers[i + 1]}\r\n`;
  }
  const payload = Buffer.from(block, 'latin1');
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0x80;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

export class GrpcWebBridge {
  constructor(
    private readonly upstream: GatewayUpstream,
    /** Larger request bodies get 413 (after base64 decoding for text mode: the wire size). */
    private readonly maxBodyBytes: number,
  ) {}

  async serve(ex: HttpExchange, kind: 'binary' | 'text' | 'other'): Promise<void> {
    // Text requests want text answers; a binary request may still ask for text with Accept.
    const textReply = kind === 'text' || (ex.header('accept') ?? '').includes('grpc-web-text');
    if (kind === 'other') {
      this.refuse(
        ex,
        415,
        Status.UNIMPLEMENTED,
        `${ex.header('content-type')} is not served: gRPC-Web is passed through as protobuf (application/grpc-web or application/grpc-web+proto)`,
        textReply,
      );
      return;
    }
    if (ex.method !== 'POST') {
      this.refuse(ex, 405, Status.UNIMPLEMENTED, 'gRPC-Web calls are POST', textReply, {
        allow: 'POST',
      });
      return;
    }
    const q = ex.target.indexOf('?');
    const path = q < 0 ? ex.target : ex.target.slice(0, q);
    if (!/^\/[^/]+\/[^/]+$/.test(path)) {
      this.refuse(ex, 404, Status.UNIMPLEMENTED, `${path} is not a gRPC method path`, textReply);
      return;
    }
    let body: Buffer;
    try {
      const raw = await ex.readBody(this.maxBodyBytes);
      if (kind === 'text') {
        const decoded = decodeChunkedBase64(raw.toString('latin1'));
        if (decoded === null) {
          this.refuse(
            ex,
            400,
            Status.INVALID_ARGUMENT,
            'the grpc-web-text body is not base64',
            true,
          );
          return;
        }
        body = decoded;
      } else body = raw;
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        this.refuse(ex, 413, Status.RESOURCE_EXHAUSTED, err.message, textReply);
      } else {
        this.refuse(
          ex,
          400,
          Status.INTERNAL,
          `cannot read the request: ${(err as Error).message}`,
          textReply,
        );
      }
      return;
    }
    const problem = checkFrames(body);
    if (problem !== null) {
      this.refuse(ex, 400, Status.INTERNAL, problem, textReply);
      return;
    }
    const rawTimeout = ex.header('grpc-timeout');
    const timeoutMs = parseGrpcTimeout(rawTimeout);
    if (rawTimeout !== undefined && timeoutMs === undefined) {
      this.refuse(ex, 400, Status.INTERNAL, `malformed grpc-timeout "${rawTimeout}"`, textReply);
      return;
    }
    const reply = new WebReply(ex, textReply);
    const call = this.upstream.call(
      {
        path,
        authority: ex.header('host') ?? '',
        metadata: metadataOf(ex.fields),
        message: body,
        framed: true,
        timeoutMs,
        peer: ex.peer,
        secure: ex.secure,
        identity: ex.identity,
      },
      reply,
    );
    ex.onAbort(() => call.cancel());
    // Backpressure: a browser that reads slowly pauses the upstream instead of growing a buffer.
    ex.onDrain(() => call.resume());
  }

  /**
   * A local answer: the HTTP status says what went wrong for plain HTTP tools, and grpc-status
   * in the headers (trailers-only) says it for gRPC-Web clients.
   */
  private refuse(
    ex: HttpExchange,
    httpStatus: number,
    code: number,
    message: string,
    text: boolean,
    extra?: ResponseHeaders,
  ): void {
    ex.head(httpStatus, {
      'content-type': text ? TEXT_TYPE : BINARY_TYPE,
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(message),
      'content-length': '0',
      ...extra,
    });
    ex.end();
  }
}

function metadataOf(fields: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    if (NOT_METADATA.has(name) || name.charCodeAt(0) === 0x3a || name.startsWith('sec-')) continue;
    // The deadline travels as the call's timeout; the rest of grpc-* is the transport's.
    if (name.startsWith('grpc-')) continue;
    out.push(name, fields[i + 1]);
  }
  return out;
}

/** The response side: headers once, DATA as it comes, trailers last. */
class WebReply {
  private started = false;

  constructor(
    private readonly ex: HttpExchange,
    private readonly text: boolean,
  ) {}

  onHeaders(fields: MetadataFields): void {
    if (this.started) return;
    this.started = true;
    const out: ResponseHeaders = { 'content-type': this.text ? TEXT_TYPE : BINARY_TYPE };
    addMetadata(out, fields);
    this.ex.head(200, out);
  }

  onMessage(message: Buffer): boolean {
    // Not reached: onData takes the bytes first. Kept so the sink stays a GatewayCallSink.
    const framed = Buffer.allocUnsafe(5 + message.length);
    framed[0] = 0;
    framed.writeUInt32BE(message.length, 1);
    message.copy(framed, 5);
    return this.ex.write(this.text ? framed.toString('base64') : framed);
  }

  onData(chunk: Buffer): boolean {
    if (!this.started) this.onHeaders([]);
    // Each chunk is encoded on its own: text-mode readers take padded pieces one after another.
    return this.ex.write(this.text ? chunk.toString('base64') : chunk);
  }

  onEnd(code: number, message: string, trailers: MetadataFields): void {
    if (!this.started) {
      // Trailers-only: the status rides in the headers and the body is empty.
      this.started = true;
      const out: ResponseHeaders = {
        'content-type': this.text ? TEXT_TYPE : BINARY_TYPE,
        'grpc-status': String(code),
      };
      if (message.length > 0) out['grpc-message'] = encodeGrpcMessage(message);
      addMetadata(out, trailers);
      out['content-length'] = '0';
      this.ex.head(200, out);
      this.ex.end();
      return;
    }
    const frame = trailersFrame(code, message, trailers);
    this.ex.end(this.text ? frame.toString('base64') : frame);
  }
}

function addMetadata(out: ResponseHeaders, fields: MetadataFields): void {
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    if (name.charCodeAt(0) === 0x3a || NOT_RESPONSE_METADATA.has(name)) continue;
    if (name === 'grpc-status' || name === 'grpc-message') continue;
    const prev = out[name];
    if (prev === undefined) out[name] = fields[i + 1];
    else out[name] = Array.isArray(prev) ? [...prev, fields[i + 1]] : [prev, fields[i + 1]];
  }
}
