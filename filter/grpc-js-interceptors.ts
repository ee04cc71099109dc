// The same filters as a grpc-js client interceptor and as a grpc-js server interceptor
// (grpc-js ≥ 1.10, `new grpc.Server({ interceptors })`). grpc-js is passed in, never imported:
// a program that runs only the proxy does not load it. Request data a filter holds back while a
// hook waits is queued in order and sent once the hooks let the call go.
import type * as grpcJs from '@grpc/grpc-js';
import { peerIdentity } from '../common/peer-identity.js';
import type { Filter, FilterReject } from './filter.js';
import { FilterCall } from './filter-call.js';
import { GrpcJsMetadata } from './grpc-js-metadata.js';

export interface FilterInterceptorOptions {
  /** Clock milliseconds (rate limits, durations); default performance.now(). */
  readonly now?: () => number;
}

type GrpcJs = Pick<typeof grpcJs, 'InterceptingCall' | 'ServerInterceptingCall' | 'Metadata'>;

function isPromise<T>(v: unknown): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function';
}

function asList(filters: Filter | readonly Filter[]): readonly Filter[] {
  return Array.isArray(filters) ? (filters as readonly Filter[]) : [filters as Filter];
}

function rejectMetadata(grpc: GrpcJs, reject: FilterReject): grpcJs.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(reject.trailers ?? {})) md.set(k.toLowerCase(), v);
  return md;
}

/** Runs `verdict` (sync or not) into `go`. */
function settle(
  verdict: FilterReject | undefined | Promise<FilterReject | undefined>,
  go: (v: FilterReject | undefined) => void,
): void {
  if (isPromise<FilterReject | undefined>(verdict)) void verdict.then(go);
  else go(verdict);
}

/** Holds calls made while the request hooks wait; runs them in order once released. */
class Gate {
  private queue: (() => void)[] | undefined;
  open = true;
  closed = false;

  hold(): void {
    this.open = false;
    this.queue = [];
  }

  pass(f: () => void): void {
    if (this.closed) return;
    if (this.open) f();
    else this.queue!.push(f);
  }

  release(): void {
    this.open = true;
    const q = this.queue ?? [];
    this.queue = undefined;
    for (const f of q) f();
  }

  shut(): void {
    this.closed = true;
    this.queue = undefined;
  }
}

/** The filters as a grpc-js client interceptor (`interceptors: [...]` of a client or call). */
export function filterClientInterceptor(
  grpc: GrpcJs,
  filters: Filter | readonly Filter[],
  options: FilterInterceptorOptions = {},
): grpcJs.Interceptor {
  const list = asList(filters);
  const now = options.now ?? (() => performance.now());
  return (callOptions, nextCall) => {
    const method = callOptions.method_definition.path;
    const gate = new Gate();
    let fc: FilterCall | undefined;
    const requester: grpcJs.Requester = {
      start(metadata, listener, next) {
        const call = new FilterCall(
          list,
          'client',
          method,
          { address: '', secure: false, identity: undefined },
          '',
          '',
          now,
        );
        fc = call;
        gate.hold();
        const inner: grpcJs.Listener = {
          onReceiveMetadata(md, nextMd) {
            call.responseHeaders(new GrpcJsMetadata(md));
            nextMd(md);
          },
          onReceiveStatus(status, nextStatus) {
            call.trailers(status.code, new GrpcJsMetadata(status.metadata));
            call.end(status.code, status.details);
            nextStatus(status);
          },
        };
        settle(call.requestHeaders(new GrpcJsMetadata(metadata)), (reject) => {
          if (reject !== undefined) {
            gate.shut();
            const md = rejectMetadata(grpc, reject);
            call.trailers(reject.code, new GrpcJsMetadata(md));
            call.end(reject.code, reject.message);
            // Never from inside start(): grpc-js callers attach their 'status' listeners after
            // the call is made, and grpc-js itself never answers synchronously.
            process.nextTick(() =>
              listener.onReceiveStatus?.({
                code: reject.code,
                details: reject.message,
                metadata: md,
              }),
            );
            return;
          }
          next(metadata, inner);
          gate.release();
        });
      },
      sendMessage(message, next) {
        gate.pass(() => next(message));
      },
      halfClose(next) {
        gate.pass(() => next());
      },
      cancel(next) {
        if (gate.closed) return;
        if (!gate.open) {
          // Cancelled while a hook waited: the call never went out.
          gate.shut();
          fc?.end(1, 'cancelled by the client');
        }
        next();
      },
    };
    return new grpc.InterceptingCall(nextCall(callOptions), requester);
  };
}

/** The filters as a grpc-js server interceptor (`new grpc.Server({ interceptors: [...] })`). */
export function filterServerInterceptor(
  grpc: GrpcJs,
  filters: Filter | readonly Filter[],
  options: FilterInterceptorOptions = {},
): grpcJs.ServerInterceptor {
  const list = asList(filters);
  const now = options.now ?? (() => performance.now());
  return (methodDescriptor, call) => {
    const gate = new Gate();
    let fc: FilterCall | undefined;
    const responder: grpcJs.Responder = {
      start(next) {
        const listener: grpcJs.ServerListener = {
          onReceiveMetadata(metadata, nextMd) {
            const auth = call.getAuthContext?.();
            const cert = auth?.sslPeerCertificate;
            const filterCall = new FilterCall(
              list,
              'server',
              methodDescriptor.path,
              {
                address: call.getPeer(),
                secure: auth?.transportSecurityType === 'ssl',
                identity: cert !== undefined ? peerIdentity(cert) : undefined,
              },
              '',
              '',
              now,
            );
            fc = filterCall;
            gate.hold();
            settle(filterCall.requestHeaders(new GrpcJsMetadata(metadata)), (reject) => {
              if (reject !== undefined) {
                gate.shut();
                const md = rejectMetadata(grpc, reject);
                filterCall.trailers(reject.code, new GrpcJsMetadata(md));
                filterCall.end(reject.code, reject.message);
                call.sendStatus({ code: reject.code, details: reject.message, metadata: md });
                return;
              }
              nextMd(metadata);
              gate.release();
            });
          },
          onReceiveMessage(message, nextMessage) {
            gate.pass(() => nextMessage(message));
          },
          onReceiveHalfClose(nextHalfClose) {
            gate.pass(() => nextHalfClose());
          },
          onCancel() {
            // After a status this is a no-op (end() runs once).
            gate.shut();
            fc?.end(1, 'cancelled by the client');
          },
        };
        next(listener);
      },
      sendMetadata(metadata, next) {
        fc?.responseHeaders(new GrpcJsMetadata(metadata));
        next(metadata);
      },
      sendStatus(status, next) {
        const md = status.metadata ?? new grpc.Metadata();
        fc?.trailers(status.code, new GrpcJsMetadata(md));
        fc?.end(status.code, status.details ?? '');
        next({ ...status, metadata: md });
      },
    };
    return new grpc.ServerInterceptingCall(call, responder);
  };
}
