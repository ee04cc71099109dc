// The test.Echo backend behind the proxy's end-to-end tests, and a small client for it: each
// request says how to answer (size, count, status, delay, trailers-only), request metadata
// `x-echo-*` comes back in headers and trailers, and every answer names its backend.
import { EventEmitter } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  afterDelay,
  bindServer,
  serverShutdown,
  type Cancellable,
} from '../../examples/grpc-server.js';
import { formatAddress } from '../../examples/route-guide/cli.js';

// Compiled code runs from <repo>/dist/test/support; the .proto stays in <repo>/test/fixtures.
const here = dirname(fileURLToPath(import.meta.url));
const inDist = basename(dirname(dirname(here))) === 'dist';
const repoRoot = inDist ? dirname(dirname(dirname(here))) : dirname(dirname(here));

/** Absolute path of test/fixtures/echo.proto. */
export const ECHO_PROTO = join(repoRoot, 'test', 'fixtures', 'echo.proto');
/** Fully qualified service name; method paths are `/test.Echo/Unary` etc. */
export const ECHO_SERVICE = 'test.Echo';
/** Response header (and trailers-only metadata) naming the backend. */
export const BACKEND_HEADER = 'x-backend';
/** Request metadata with this prefix is reflected as `x-echo-h-…` and `x-echo-t-…`. */
export const ECHO_PREFIX = 'x-echo-';

/** test.EchoRequest as grpc-js hands it to the backend (all fields present). */
export interface EchoRequest {
  payload: Buffer;
  responseCount: number;
  responseSize: number;
  statusCode: number;
  statusMessage: string;
  delayMs: number;
  trailersOnly: boolean;
}

/** What a client may send: any subset of the fields. */
export type EchoRequestInit = Partial<EchoRequest>;

/** test.EchoResponse. */
export interface EchoResponse {
  payload: Buffer;
  backend: string;
  index: number;
  receivedMessages: number;
  receivedBytes: number;
}

export type EchoMethod = 'Unary' | 'ServerStream' | 'ClientStream' | 'Bidi';

export interface EchoBackendOptions {
  name: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default insecure. */
  credentials?: grpc.ServerCredentials;
  /** Passed to `new grpc.Server()` (e.g. `grpc.max_concurrent_streams`). */
  serverOptions?: grpc.ServerOptions;
  /** Adds more services (e.g. grpc.health.v1.Health) before the server binds. */
  setup?: (server: grpc.Server) => void;
  /** Extra delay of every Unary answer, on top of the request's delay_ms (see setDelay). */
  unaryDelayMs?: number;
}

/** How ServerStream and Bidi calls have written, summed over every call. */
export interface EchoWriteStats {
  /** Messages handed to `call.write()`. */
  messagesWritten: number;
  /** Payload bytes in those messages. */
  bytesWritten: number;
  /** Times `call.write()` returned false and the backend waited for 'drain'. */
  drainWaits: number;
  /** Largest `call.writableLength` (messages queued in grpc-js) seen after a write. */
  maxBufferedMessages: number;
}

export interface EchoBackend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `host:port`, IPv6 hosts in brackets. */
  readonly address: string;
  /** Calls started, all methods. */
  readonly calls: number;
  /**
   * Calls cancelled before the backend finished answering (client cancel, deadline, reset or
   * lost connection). grpc-js also fires 'cancelled' after every normal end; those are not
   * counted.
   */
  readonly cancelled: number;
  /** Emits 'call' and 'cancelled' with the `EchoMethod`, synchronously as they happen. */
  readonly events: EventEmitter;
  /** Request metadata of the most recent call. */
  readonly lastMetadata: grpc.Metadata | undefined;
  /** Live write statistics (the object is updated in place). */
  readonly writes: EchoWriteStats;
  /** Makes every Unary answer wait this long (a slow backend), on top of delay_ms. */
  setDelay(ms: number): void;
  /** Graceful: stops accepting calls and waits for calls in flight (tryShutdown). */
  close(): Promise<void>;
  /** Immediate: cancels calls in flight and drops connections (forceShutdown). */
  kill(): void;
}

// Sized payloads are views of one shared buffer whose byte i is i % 251, so a receiver can
// check integrity without the backend allocating per message. 251 is prime, so a shifted or
// truncated chunk does not line up with the pattern by accident.
let pattern = Buffer.alloc(0);

/** A read-only payload of `size` bytes where byte i is `i % 251`. */
export function patternPayload(size: number): Buffer {
  if (size > pattern.length) {
    const next = Buffer.allocUnsafe(Math.max(size, pattern.length * 2, 64 * 1024));
    for (let i = 0; i < next.length; i++) next[i] = i % 251;
    pattern = next;
  }
  return pattern.subarray(0, size);
}

let echoConstructor: grpc.ServiceClientConstructor | undefined;

/** The grpc-js client constructor for test.Echo; `.service` is the server-side definition. */
export function loadEchoService(): grpc.ServiceClientConstructor {
  if (echoConstructor) return echoConstructor;
  const definition = protoLoader.loadSync(ECHO_PROTO, {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition).test as grpc.GrpcObject;
  echoConstructor = pkg.Echo as grpc.ServiceClientConstructor;
  return echoConstructor;
}

/** What a handler sends; protobuf fills in the missing fields. */
type Answer = Partial<EchoResponse>;

/** Per-call answer metadata. Shared objects when nothing is reflected: grpc-js only reads them. */
interface Reflected {
  headers: grpc.Metadata;
  trailers: grpc.Metadata;
  /** Headers and trailers in one, for a trailers-only answer. */
  trailersOnly: grpc.Metadata;
}

/** Starts a test.Echo backend and resolves once it listens. */
export async function startEchoBackend(options: EchoBackendOptions): Promise<EchoBackend> {
  const name = options.name;
  const host = options.host ?? '127.0.0.1';
  const events = new EventEmitter();
  const writes: EchoWriteStats = {
    messagesWritten: 0,
    bytesWritten: 0,
    drainWaits: 0,
    maxBufferedMessages: 0,
  };
  let calls = 0;
  let cancelled = 0;
  let lastMetadata: grpc.Metadata | undefined;
  let unaryDelayMs = options.unaryDelayMs ?? 0;

  const plainHeaders = new grpc.Metadata();
  plainHeaders.set(BACKEND_HEADER, name);
  const plain: Reflected = {
    headers: plainHeaders,
    trailers: new grpc.Metadata(),
    trailersOnly: plainHeaders,
  };

  const reflect = (request: grpc.Metadata): Reflected => {
    let reflected: Reflected | undefined;
    for (const key of Object.keys(request.getMap())) {
      if (!key.startsWith(ECHO_PREFIX)) continue;
      reflected ??= {
        headers: plainHeaders.clone(),
        trailers: new grpc.Metadata(),
        trailersOnly: plainHeaders.clone(),
      };
      const rest = key.slice(ECHO_PREFIX.length);
      for (const value of request.get(key)) {
        reflected.headers.add(`${ECHO_PREFIX}h-${rest}`, value);
        reflected.trailers.add(`${ECHO_PREFIX}t-${rest}`, value);
        reflected.trailersOnly.add(`${ECHO_PREFIX}h-${rest}`, value);
        reflected.trailersOnly.add(`${ECHO_PREFIX}t-${rest}`, value);
      }
    }
    return reflected ?? plain;
  };

  /** Counts the call and watches for a cancellation that comes before `finished()`. */
  const begin = (method: EchoMethod, call: Cancellable & { metadata: grpc.Metadata }) => {
    calls++;
    lastMetadata = call.metadata;
    let finished = false;
    call.once('cancelled', () => {
      if (finished) return;
      cancelled++;
      events.emit('cancelled', method);
    });
    events.emit('call', method);
    return {
      meta: reflect(call.metadata),
      finish: (): void => {
        finished = true;
      },
    };
  };

  const statusOf = (request: EchoRequest, metadata: grpc.Metadata): Partial<grpc.StatusObject> => ({
    code: request.statusCode,
    details: request.statusMessage,
    metadata,
  });

  const unary: grpc.handleUnaryCall<EchoRequest, Answer> = (call, callback) => {
    const { meta, finish } = begin('Unary', call);
    const request = call.request;
    const trailersOnly = request.statusCode !== 0 && request.trailersOnly;
    if (!trailersOnly) call.sendMetadata(meta.headers);
    afterDelay(call, request.delayMs + unaryDelayMs, () => {
      finish();
      if (request.statusCode !== 0) {
        callback(statusOf(request, trailersOnly ? meta.trailersOnly : meta.trailers));
        return;
      }
      const payload =
        request.responseSize > 0 ? patternPayload(request.responseSize) : request.payload;
      callback(
        null,
        {
          payload,
          backend: name,
          index: 0,
          receivedMessages: 1,
          receivedBytes: request.payload.length,
        },
        meta.trailers,
      );
    });
  };

  const serverStream: grpc.handleServerStreamingCall<EchoRequest, Answer> = (call) => {
    const { meta, finish } = begin('ServerStream', call);
    const request = call.request;
    const fail = (): void => {
      finish();
      call.emit(
        'error',
        statusOf(request, request.trailersOnly ? meta.trailersOnly : meta.trailers),
      );
    };
    if (request.statusCode !== 0 && request.trailersOnly) {
      afterDelay(call, request.delayMs, fail);
      return;
    }
    call.sendMetadata(meta.headers);
    const count = Math.max(1, request.responseCount);
    const payload =
      request.responseSize > 0 ? patternPayload(request.responseSize) : request.payload;
    let index = 0;
    // Writes only while grpc-js accepts more: a false return means its queue is full, so the
    // loop stops until 'drain'. This keeps a 1 GiB stream to a slow reader within a few MiB.
    const pump = (): void => {
      while (index < count) {
        if (call.cancelled) return;
        const more = call.write({ payload, backend: name, index: index++ });
        writes.messagesWritten++;
        writes.bytesWritten += payload.length;
        if (call.writableLength > writes.maxBufferedMessages) {
          writes.maxBufferedMessages = call.writableLength;
        }
        if (!more) {
          writes.drainWaits++;
          call.once('drain', pump);
          return;
        }
      }
      if (request.statusCode !== 0) fail();
      else {
        finish();
        call.end(meta.trailers);
      }
    };
    call.once('cancelled', () => call.removeListener('drain', pump));
    afterDelay(call, request.delayMs, pump);
  };

  const clientStream: grpc.handleClientStreamingCall<EchoRequest, Answer> = (call, callback) => {
    const { meta, finish } = begin('ClientStream', call);
    let first: EchoRequest | undefined;
    let messages = 0;
    let bytes = 0;
    let answered = false;
    const answer = (control: EchoRequest | undefined): void => {
      if (answered) return;
      answered = true;
      afterDelay(call, control?.delayMs ?? 0, () => {
        finish();
        if (control && control.statusCode !== 0) {
          callback(statusOf(control, control.trailersOnly ? meta.trailersOnly : meta.trailers));
          return;
        }
        const size = control?.responseSize ?? 0;
        const response = {
          payload: patternPayload(size),
          backend: name,
          index: 0,
          receivedMessages: messages,
          receivedBytes: bytes,
        };
        callback(null, response, meta.trailers);
      });
    };
    // The first message carries the instructions; headers wait for it so that a trailers-only
    // failure can still be sent without them. A failure is answered at once, while the client
    // may still be sending.
    call.on('data', (request: EchoRequest) => {
      messages++;
      bytes += request.payload.length;
      if (first) return;
      first = request;
      if (request.statusCode !== 0 && request.trailersOnly) {
        answer(request);
        return;
      }
      call.sendMetadata(meta.headers);
      if (request.statusCode !== 0) answer(request);
    });
    call.on('end', () => {
      if (!first) call.sendMetadata(meta.headers);
      answer(first);
    });
  };

  const bidi: grpc.handleBidiStreamingCall<EchoRequest, Answer> = (call) => {
    const { meta, finish } = begin('Bidi', call);
    let headersSent = false;
    let ended = false;
    let index = 0;
    // Reading pauses while an answer is delayed or grpc-js's write queue is full.
    let holds = 0;
    const hold = (): void => {
      if (holds++ === 0) call.pause();
    };
    const release = (): void => {
      if (--holds === 0 && !ended) call.resume();
    };
    const sendHeaders = (): void => {
      if (headersSent) return;
      headersSent = true;
      call.sendMetadata(meta.headers);
    };
    const answer = (request: EchoRequest): void => {
      if (ended) return;
      if (request.statusCode !== 0) {
        ended = true;
        finish();
        const trailersOnly = !headersSent && request.trailersOnly;
        call.emit('error', statusOf(request, trailersOnly ? meta.trailersOnly : meta.trailers));
        return;
      }
      sendHeaders();
      const payload =
        request.responseSize > 0 ? patternPayload(request.responseSize) : request.payload;
      const more = call.write({ payload, backend: name, index: index++ });
      writes.messagesWritten++;
      writes.bytesWritten += payload.length;
      if (call.writableLength > writes.maxBufferedMessages) {
        writes.maxBufferedMessages = call.writableLength;
      }
      if (!more) {
        writes.drainWaits++;
        hold();
        call.once('drain', release);
      }
    };
    call.on('data', (request: EchoRequest) => {
      if (request.delayMs <= 0) {
        answer(request);
        return;
      }
      hold();
      afterDelay(call, request.delayMs, () => {
        answer(request);
        release();
      });
    });
    call.on('end', () => {
      if (ended) return;
      ended = true;
      finish();
      sendHeaders();
      call.end(meta.trailers);
    });
  };

  const server = new grpc.Server(options.serverOptions);
  server.addService(loadEchoService().service, {
    Unary: unary,
    ServerStream: serverStream,
    ClientStream: clientStream,
    Bidi: bidi,
  });
  options.setup?.(server);
  const port = await bindServer(server, host, options.port ?? 0, options.credentials);

  return {
    name,
    host,
    port,
    address: formatAddress(host, port),
    get calls() {
      return calls;
    },
    get cancelled() {
      return cancelled;
    },
    events,
    get lastMetadata() {
      return lastMetadata;
    },
    writes,
    setDelay(ms: number) {
      unaryDelayMs = ms;
    },
    ...serverShutdown(server),
  };
}

/** The typed view of the grpc-js client built from echo.proto. */
export interface EchoServiceClient extends grpc.Client {
  Unary(
    request: EchoRequestInit,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<EchoResponse>,
  ): grpc.ClientUnaryCall;
  ServerStream(
    request: EchoRequestInit,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<EchoResponse>;
  ClientStream(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<EchoResponse>,
  ): grpc.ClientWritableStream<EchoRequestInit>;
  Bidi(
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientDuplexStream<EchoRequestInit, EchoResponse>;
}

export interface EchoClientOptions {
  /** Default insecure. */
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
}

/** A test.Echo client on its own channel; `close()` it when done. */
export function echoClient(target: string, options: EchoClientOptions = {}): EchoServiceClient {
  const Client = loadEchoService();
  return new Client(
    target,
    options.credentials ?? grpc.credentials.createInsecure(),
    options.channelOptions,
  ) as unknown as EchoServiceClient;
}

export interface EchoCallOptions {
  /** Request metadata; default empty. */
  metadata?: grpc.Metadata;
  /** Deadline from now; default none. */
  deadlineMs?: number;
}

/** Everything a unary call produced, failed or not. */
export interface EchoUnaryResult {
  status: grpc.StatusObject;
  /** Set when the call succeeded. */
  response: EchoResponse | undefined;
  /** Response headers; undefined for a trailers-only answer or a call that never got one. */
  headers: grpc.Metadata | undefined;
  /** Set when the call failed. */
  error: grpc.ServiceError | undefined;
}

function callOptions(options: EchoCallOptions): grpc.CallOptions {
  return options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
}

/** A unary call that resolves with status, headers and response; never rejects. */
export function echoUnary(
  client: EchoServiceClient,
  request: EchoRequestInit,
  options: EchoCallOptions = {},
): Promise<EchoUnaryResult> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let response: EchoResponse | undefined;
    let error: grpc.ServiceError | undefined;
    const call = client.Unary(
      request,
      options.metadata ?? new grpc.Metadata(),
      callOptions(options),
      (err, value) => {
        error = err ?? undefined;
        response = value ?? undefined;
      },
    );
    call.on('metadata', (metadata) => (headers = metadata));
    call.on('status', (status) => resolve({ status, response, headers, error }));
  });
}

/** A unary call that resolves with the response or rejects with the grpc-js ServiceError. */
export async function echoUnaryOk(
  client: EchoServiceClient,
  request: EchoRequestInit,
  options: EchoCallOptions = {},
): Promise<EchoResponse> {
  const result = await echoUnary(client, request, options);
  if (result.error || !result.response) {
    throw result.error ?? new Error(`Unary ended with ${result.status.code} and no response`);
  }
  return result.response;
}

/** What a server-streaming call produced; messages are counted, not kept. */
export interface EchoStreamResult {
  status: grpc.StatusObject;
  headers: grpc.Metadata | undefined;
  messages: number;
  /** Payload bytes received. */
  bytes: number;
}

/** Reads a ServerStream call to its end; never rejects. */
export function echoServerStream(
  client: EchoServiceClient,
  request: EchoRequestInit,
  options: EchoCallOptions = {},
): Promise<EchoStreamResult> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let status: grpc.StatusObject | undefined;
    let ended = false;
    let messages = 0;
    let bytes = 0;
    const call = client.ServerStream(
      request,
      options.metadata ?? new grpc.Metadata(),
      callOptions(options),
    );
    // 'status' may come before 'end' (the readable side ends asynchronously): wait for both.
    const settle = (): void => {
      if (ended && status) resolve({ status, headers, messages, bytes });
    };
    call.on('metadata', (metadata) => (headers = metadata));
    call.on('data', (response: EchoResponse) => {
      messages++;
      bytes += response.payload.length;
    });
    call.on('error', () => {}); // reported through 'status'
    call.on('end', () => {
      ended = true;
      settle();
    });
    call.on('status', (received) => {
      status = received;
      settle();
    });
  });
}
