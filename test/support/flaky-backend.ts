// A test.Echo backend that fails on command, for retry tests: the next N unary calls end with
// a status (trailers-only, or after response headers), or hang until cancelled; it records
// what each call carried and whether its caller cancelled it.
import * as grpc from '@grpc/grpc-js';
import { loadEchoService, type EchoRequest, type EchoResponse } from './echo-backend.js';

/** How the backend answers one call. */
export type FlakyAnswer =
  | { readonly kind: 'ok' }
  /** A status; `headersFirst`: send response headers before it (the call is then committed). */
  | {
      readonly kind: 'fail';
      readonly code: grpc.status;
      readonly pushbackMs?: string;
      readonly headersFirst?: boolean;
    }
  /** No answer until the caller cancels. */
  | { readonly kind: 'hang' };

export interface FlakyBackend {
  readonly name: string;
  readonly address: string;
  /** Unary calls received. */
  readonly calls: number;
  /** Calls the caller cancelled before the backend answered. */
  readonly cancelled: number;
  /** `grpc-previous-rpc-attempts` of each call, in order ("" when absent). */
  readonly previousAttempts: string[];
  /** The answers of the next calls, in order; once used up, calls succeed. */
  script(...answers: FlakyAnswer[]): void;
  /** Every call from now on gets `answer`, until script() or always(undefined). */
  always(answer: FlakyAnswer | undefined): void;
  close(): void;
}

export async function startFlakyBackend(name: string): Promise<FlakyBackend> {
  const queue: FlakyAnswer[] = [];
  let standing: FlakyAnswer | undefined;
  const previousAttempts: string[] = [];
  let calls = 0;
  let cancelled = 0;

  const unary: grpc.handleUnaryCall<EchoRequest, Partial<EchoResponse>> = (call, callback) => {
    calls++;
    previousAttempts.push(String(call.metadata.get('grpc-previous-rpc-attempts')[0] ?? ''));
    const answer = queue.shift() ?? standing ?? { kind: 'ok' };
    let answered = false;
    call.on('cancelled', () => {
      if (!answered) cancelled++;
    });
    if (answer.kind === 'hang') return;
    answered = true;
    if (answer.kind === 'ok') {
      callback(null, { payload: call.request.payload, backend: name });
      return;
    }
    if (answer.headersFirst) call.sendMetadata(new grpc.Metadata());
    const trailers = new grpc.Metadata();
    if (answer.pushbackMs !== undefined) trailers.set('grpc-retry-pushback-ms', answer.pushbackMs);
    callback({ code: answer.code, details: `${name} failed`, metadata: trailers });
  };

  const server = new grpc.Server();
  const notUsed = (_call: unknown, callback: (error: grpc.ServiceError) => void) =>
    callback({ code: grpc.status.UNIMPLEMENTED } as grpc.ServiceError);
  server.addService(loadEchoService().service, {
    Unary: unary,
    ServerStream: (call: grpc.ServerWritableStream<EchoRequest, EchoResponse>) =>
      call.emit('error', { code: grpc.status.UNIMPLEMENTED }),
    ClientStream: notUsed,
    Bidi: (call: grpc.ServerDuplexStream<EchoRequest, EchoResponse>) =>
      call.emit('error', { code: grpc.status.UNIMPLEMENTED }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    name,
    address: `127.0.0.1:${port}`,
    get calls() {
      return calls;
    },
    get cancelled() {
      return cancelled;
    },
    previousAttempts,
    script: (...answers) => {
      queue.length = 0;
      queue.push(...answers);
    },
    always: (answer) => {
      standing = answer;
    },
    close: () => server.forceShutdown(),
  };
}
