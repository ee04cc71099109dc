// The REST/JSON gateway: an HTTP request is matched to a google.api.http route, transcoded to
// one gRPC request, sent through a GatewayUpstream, and the answer transcoded back: JSON for a
// unary call, newline-delimited JSON (or Server-Sent Events) for a server stream, with the
// final status in-band as the last record so an error mid-stream is never a silent 200.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Registry } from '@bufbuild/protobuf';
import { isGrpcContentType } from '../grpc/header-fields.js';
import { parseGrpcTimeout } from '../grpc/grpc-timeout.js';
import { Status } from '../grpc/grpc-status.js';
import { Cors, type CorsOptions } from './cors.js';
import type { DescriptorPool } from './descriptor-pool.js';
import { GrpcWebBridge, grpcWebKind } from './grpc-web.js';
import { HOP_BY_HOP } from './http-exchange.js';
import { openApiDocument } from './openapi.js';
import { RouteTable, type GatewayRoute } from './http-rules.js';
import {
  BodyTooLarge,
  downstreamExchange,
  http1Exchange,
  type HttpExchange,
  type ResponseHeaders,
} from './http-exchange.js';
import { codeOfHttpStatus, httpStatusOf, statusBody } from './status-json.js';
import {
  buildRequest,
  buildStreamRequest,
  DEFAULT_JSON_OPTIONS,
  RequestError,
  responseJson,
  type JsonOptions,
} from './transcode.js';
import type { StallWatch } from './stall-watch.js';
import type { GatewayUpstream, MetadataFields } from './upstream.js';
import type { DownstreamStream } from '../transport/downstream.js';
import { fieldValue } from '../transport/header-fields.js';

export interface GatewayOptions {
  readonly json: JsonOptions;
  /** Request header names passed on as gRPC metadata; a trailing `*` matches a prefix. */
  readonly forwardHeaders: readonly string[];
  /** Larger request bodies are refused with 413. */
  readonly maxBodyBytes: number;
  /** Serve REST/JSON from the routes (false: only gRPC-Web, and 404 for the rest). */
  readonly rest?: boolean;
  /** Serve gRPC-Web. */
  readonly grpcWeb?: boolean;
  /** CORS for pages on other origins; undefined: none. */
  readonly cors?: CorsOptions | undefined;
  /** Where GET serves the OpenAPI 3.1 document of the REST routes; '' or undefined: nowhere. */
  readonly openapiPath?: string;
  /**
   * Where responses whose client falls behind are watched, and cut after the listener's
   * stalledStreamTimeout without progress; undefined: never cut.
   */
  readonly stalls?: StallWatch;
}

export const DEFAULT_GATEWAY_OPTIONS: GatewayOptions = {
  json: DEFAULT_JSON_OPTIONS,
  forwardHeaders: ['authorization', 'x-*'],
  // 4 MiB: grpc-js's default receive limit, so a body that fits reaches a default backend.
  maxBodyBytes: 4 * 1024 * 1024,
};

/** Response metadata that is the protocol's, not the application's: never Grpc-Metadata-*. */
const PROTOCOL_FIELDS = new Set([
  'content-type',
  'content-length',
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
  'grpc-encoding',
  'grpc-accept-encoding',
  'date',
  'te',
  'trailer',
]);

const JSON_TYPE = 'application/json';
const NDJSON_TYPE = 'application/x-ndjson';
const SSE_TYPE = 'text/event-stream';

export class Gateway {
  table: RouteTable;
  private registry: Registry;
  private http1: http.Server | undefined;
  private readonly cors: Cors | undefined;
  private readonly grpcWeb: GrpcWebBridge | undefined;
  private readonly routes: readonly GatewayRoute[];
  private openapi: string | undefined;

  constructor(
    pool: DescriptorPool,
    routes: readonly GatewayRoute[],
    private readonly upstream: GatewayUpstream,
    private readonly options: GatewayOptions = DEFAULT_GATEWAY_OPTIONS,
  ) {
    this.registry = pool.registry;
    this.routes = options.rest === false ? [] : routes;
    this.table = new RouteTable(this.routes);
    this.cors = options.cors === undefined ? undefined : new Cors(options.cors);
    this.grpcWeb =
      options.grpcWeb === true ? new GrpcWebBridge(upstream, options.maxBodyBytes) : undefined;
  }

  /**
   * New descriptors and routes (a config reload, a backend's reflection changed): requests
   * from now on use them; requests already matched finish with the ones they started with.
   */
  swap(pool: DescriptorPool, routes: readonly GatewayRoute[]): void {
    const table = new RouteTable(routes);
    this.registry = pool.registry;
    this.table = table;
  }

  /** An HTTP/1.1 connection the listener recognised: served by a node:http server here. */
  acceptHttp1(socket: Duplex): void {
    if (this.http1 === undefined) {
      this.http1 = http.createServer((req, res) => this.handleHttp1(req, res));
      // Idle keep-alive connections close after 5 s (node's default), so shutdown is not held.
      this.http1.on('clientError', (_err, s: Duplex) => s.destroy());
    }
    this.http1.emit('connection', socket);
  }

  handleHttp1(req: http.IncomingMessage, res: http.ServerResponse): void {
    void this.serve(http1Exchange(req, res, this.options.stalls));
  }

  /** An HTTP/2 request on the proxy's own HTTP/2 that `wantsFields` accepted. */
  handleDownstream(stream: DownstreamStream, fields: readonly string[]): void {
    void this.serve(downstreamExchange(stream, fields, this.options.stalls));
  }

  /**
   * Whether an HTTP/2 request is the gateway's: anything but gRPC, which takes the data path
   * untouched.
   */
  wantsFields(fields: readonly string[]): boolean {
    return !isGrpcContentType(fieldValue(fields, 'content-type'));
  }

  /** Closes HTTP/1.1 connections the gateway holds. */
  close(): void {
    this.http1?.closeAllConnections();
    this.http1?.close();
  }

  private async serve(exchange: HttpExchange): Promise<void> {
    // Every answer below, local errors included, carries the CORS headers.
    const ex = this.cors === undefined ? exchange : this.cors.wrap(exchange);
    if (this.cors?.isPreflight(exchange) === true) {
      this.cors.preflight(exchange);
      return;
    }
    if (this.grpcWeb !== undefined) {
      const kind = grpcWebKind(ex.header('content-type'));
      if (kind !== null) {
        await this.grpcWeb.serve(ex, kind);
        return;
      }
    }
    const q = ex.target.indexOf('?');
    const path = q < 0 ? ex.target : ex.target.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : ex.target.slice(q + 1));
    if (path === this.options.openapiPath && (ex.method === 'GET' || ex.method === 'HEAD')) {
      this.serveOpenApi(ex);
      return;
    }
    // One pair for the whole request, so a swap while the body arrives cannot mix them.
    const registry = this.registry;
    const found = this.table.match(ex.method, path);
    if (found.kind === 'not-found') {
      this.local(ex, 404, `no route for ${ex.method} ${path}`);
      return;
    }
    if (found.kind === 'wrong-method') {
      this.local(
        ex,
        405,
        `${path} does not accept ${ex.method}; it accepts ${found.allow.join(', ')}`,
        {
          allow: found.allow.join(', '),
        },
      );
      return;
    }
    const { route, values } = found;
    const clientStream =
      route.method.methodKind === 'client_streaming' ||
      route.method.methodKind === 'bidi_streaming';
    let message: Uint8Array;
    try {
      const body =
        ex.method === 'GET' || ex.method === 'HEAD'
          ? undefined
          : await ex.readBody(this.options.maxBodyBytes);
      // Bodies are read as JSON whatever their content-type: curl -d sends
      // application/x-www-form-urlencoded, fetch with a string text/plain.
      message = clientStream
        ? buildStreamRequest(route, values, query, body ?? Buffer.alloc(0), registry)
        : buildRequest(route, values, query, body, registry);
    } catch (err) {
      if (err instanceof RequestError) this.local(ex, err.httpStatus, err.message);
      else if (err instanceof BodyTooLarge) this.local(ex, 413, err.message);
      else this.local(ex, 400, `cannot read the request: ${(err as Error).message}`);
      return;
    }
    const rawTimeout = ex.header('grpc-timeout');
    const timeoutMs = parseGrpcTimeout(rawTimeout);
    if (rawTimeout !== undefined && timeoutMs === undefined) {
      this.local(ex, 400, `malformed grpc-timeout "${rawTimeout}"`);
      return;
    }
    const streaming =
      route.method.methodKind === 'server_streaming' ||
      route.method.methodKind === 'bidi_streaming';
    const reply = streaming
      ? new StreamReply(ex, route, registry, this.options.json, streamFormat(ex.header('accept')))
      : new UnaryReply(ex, route, registry, this.options.json);
    const call = this.upstream.call(
      {
        path: route.grpcPath,
        authority: ex.header('host') ?? '',
        metadata: this.metadataOf(ex.fields),
        message,
        framed: clientStream,
        timeoutMs,
        peer: ex.peer,
        secure: ex.secure,
        identity: ex.identity,
      },
      reply,
    );
    ex.onAbort(() => call.cancel());
    // Backpressure: a client that reads a stream slowly pauses the upstream instead of
    // growing the response's buffer.
    if (streaming) ex.onDrain(() => call.resume());
  }

  private serveOpenApi(ex: HttpExchange): void {
    // Built on first request: the routes do not change while the gateway lives.
    this.openapi ??= JSON.stringify(openApiDocument(this.routes, this.options.json));
    ex.head(200, {
      'content-type': JSON_TYPE,
      'content-length': String(Buffer.byteLength(this.openapi)),
    });
    ex.end(ex.method === 'HEAD' ? undefined : this.openapi);
  }

  private metadataOf(fields: readonly string[]): string[] {
    const out: string[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i];
      if (HOP_BY_HOP.has(name) || name.startsWith('grpc-') || name.charCodeAt(0) === 0x3a) continue;
      if (this.forwarded(name)) out.push(name, fields[i + 1]);
    }
    return out;
  }

  private forwarded(name: string): boolean {
    for (const pattern of this.options.forwardHeaders) {
      if (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern) {
        return true;
      }
    }
    return false;
  }

  /** An answer the gateway makes itself, in the same google.rpc.Status shape as upstream errors. */
  private local(ex: HttpExchange, status: number, message: string, extra?: ResponseHeaders): void {
    const body = JSON.stringify({ code: codeOfHttpStatus(status), message, details: [] });
    ex.head(status, {
      'content-type': JSON_TYPE,
      'content-length': String(Buffer.byteLength(body)),
      ...extra,
    });
    ex.end(body);
  }
}

/** Response headers and trailers as `Grpc-Metadata-<name>` headers (as grpc-gateway names them). */
function metadataHeaders(out: ResponseHeaders, fields: MetadataFields): void {
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    if (name.charCodeAt(0) === 0x3a || PROTOCOL_FIELDS.has(name)) continue;
    const key = `grpc-metadata-${name}`;
    const prev = out[key];
    if (prev === undefined) out[key] = fields[i + 1]!;
    else out[key] = Array.isArray(prev) ? [...prev, fields[i + 1]] : [prev, fields[i + 1]];
  }
}

function fieldOf(fields: MetadataFields, name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * `retry-after` in whole seconds (RFC 9110 §10.2.3) from `grpc-retry-pushback-ms`, which a rate
 * limit sends with RESOURCE_EXHAUSTED (429). A negative pushback means "do not retry" (gRFC A6)
 * and has no HTTP equivalent, so none is set.
 */
function retryAfter(out: ResponseHeaders, trailers: MetadataFields): void {
  const ms = fieldOf(trailers, 'grpc-retry-pushback-ms');
  if (ms === undefined || !/^\d{1,10}$/.test(ms)) return;
  out['retry-after'] = String(Math.ceil(Number(ms) / 1000));
}

/**
 * The HTTP headers a failed call's status asks for: `retry-after` (above), and for
 * UNAUTHENTICATED (401) the `www-authenticate` challenge every 401 must carry (RFC 9110
 * §15.5.2); `Bearer` (RFC 6750), the scheme the `jwt` filter reads.
 */
function failureHeaders(out: ResponseHeaders, code: number, trailers: MetadataFields): void {
  retryAfter(out, trailers);
  if (code === Status.UNAUTHENTICATED) out['www-authenticate'] = 'Bearer';
}

/** A unary answer: everything is known at the end, so headers carry trailers too. */
class UnaryReply {
  private headers: MetadataFields = [];
  private message: Buffer | undefined;
  private messages = 0;

  constructor(
    private readonly ex: HttpExchange,
    private readonly route: GatewayRoute,
    private readonly registry: Registry,
    private readonly json: JsonOptions,
  ) {}

  onHeaders(fields: MetadataFields): void {
    this.headers = fields;
  }

  onMessage(message: Buffer): boolean {
    this.messages++;
    this.message = message;
    // Nothing is written before the end: one message (4 MiB at most) is all a unary call holds.
    return true;
  }

  onEnd(code: number, grpcMessage: string, trailers: MetadataFields): void {
    const out: ResponseHeaders = {};
    metadataHeaders(out, this.headers);
    metadataHeaders(out, trailers);
    if (code !== 0) failureHeaders(out, code, trailers);
    let status = httpStatusOf(code);
    let body: string;
    const text = grpcMessage;
    if (code === 0 && this.messages !== 1) {
      status = 500;
      body = JSON.stringify({
        code: 13,
        message: `a unary call answered with ${this.messages} messages`,
        details: [],
      });
    } else if (code === 0) {
      try {
        body = responseJson(this.route, this.message!, this.registry, this.json);
      } catch (err) {
        status = 500;
        body = JSON.stringify({
          code: 13,
          message: `cannot transcode the response: ${(err as Error).message}`,
          details: [],
        });
      }
    } else {
      body = JSON.stringify(
        statusBody(code, text, fieldOf(trailers, 'grpc-status-details-bin'), this.registry),
      );
    }
    out['content-type'] = JSON_TYPE;
    out['content-length'] = String(Buffer.byteLength(body));
    this.ex.head(status, out);
    this.ex.end(body);
  }
}

/** How a server stream's records are written: one a line, as Server-Sent Events, or an array. */
type StreamFormat = 'ndjson' | 'sse' | 'array';

/**
 * Newline-delimited JSON unless the client asks otherwise: `text/event-stream` for Server-Sent
 * Events, or `application/json` alone (no other type, no wildcard) for one JSON array, which
 * a client that wants a single document can parse whole.
 */
function streamFormat(accept: string | undefined): StreamFormat {
  if (accept === undefined) return 'ndjson';
  if (accept.includes(SSE_TYPE)) return 'sse';
  const types = accept.split(',').map((t) => t.split(';')[0].trim().toLowerCase());
  return types.length > 0 && types.every((t) => t === JSON_TYPE) ? 'array' : 'ndjson';
}

/**
 * A server stream: one `{"result": …}` record per message, then `{"status": …}` (code 0 for a
 * clean end) as the last record; a stream that fails before its first message is answered
 * like a unary error, with the mapped HTTP status. As an array, the same records are its
 * elements, the status last.
 */
class StreamReply {
  private headers: MetadataFields = [];
  private started = false;
  private records = 0;

  constructor(
    private readonly ex: HttpExchange,
    private readonly route: GatewayRoute,
    private readonly registry: Registry,
    private readonly json: JsonOptions,
    private readonly format: StreamFormat,
  ) {}

  onHeaders(fields: MetadataFields): void {
    this.headers = fields;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    const out: ResponseHeaders = {};
    metadataHeaders(out, this.headers);
    out['content-type'] =
      this.format === 'sse' ? SSE_TYPE : this.format === 'array' ? JSON_TYPE : NDJSON_TYPE;
    // Records go out as they come; proxies in between must not hold them back.
    out['cache-control'] = 'no-cache';
    out['x-accel-buffering'] = 'no';
    this.ex.head(200, out);
  }

  /** Writes one record; false when the client's connection is full (see onMessage). */
  private record(kind: 'result' | 'status', value: string): boolean {
    const first = this.records++ === 0;
    if (this.format === 'sse') return this.ex.write(`event: ${kind}\ndata: ${value}\n\n`);
    if (this.format === 'ndjson') return this.ex.write(`{"${kind}":${value}}\n`);
    return this.ex.write(
      `${first ? '[' : ','}{"${kind}":${value}}${kind === 'status' ? ']' : ''}\n`,
    );
  }

  onMessage(message: Buffer): boolean {
    this.start();
    let json: string;
    try {
      json = responseJson(this.route, message, this.registry, this.json);
    } catch (err) {
      json = JSON.stringify({ error: `cannot transcode a message: ${(err as Error).message}` });
    }
    return this.record('result', json);
  }

  onEnd(code: number, grpcMessage: string, trailers: MetadataFields): void {
    const text = grpcMessage;
    const status = statusBody(
      code,
      text,
      fieldOf(trailers, 'grpc-status-details-bin'),
      this.registry,
    );
    if (!this.started && code !== 0) {
      const out: ResponseHeaders = {};
      metadataHeaders(out, this.headers);
      metadataHeaders(out, trailers);
      failureHeaders(out, code, trailers);
      const body = JSON.stringify(status);
      out['content-type'] = JSON_TYPE;
      out['content-length'] = String(Buffer.byteLength(body));
      this.ex.head(httpStatusOf(code), out);
      this.ex.end(body);
      return;
    }
    this.start();
    // Trailers cannot become headers once the body has started: they travel in the record.
    const meta: Record<string, string> = {};
    const collected: ResponseHeaders = {};
    metadataHeaders(collected, trailers);
    for (const [k, v] of Object.entries(collected)) {
      meta[k.slice('grpc-metadata-'.length)] = Array.isArray(v) ? v.join(', ') : v;
    }
    const record = Object.keys(meta).length > 0 ? { ...status, metadata: meta } : status;
    this.record('status', JSON.stringify(record));
    this.ex.end();
  }
}
