// The same filters as a grpc-js client interceptor and as a grpc-js server interceptor
// (grpc-js ≥ 1.10, `new grpc.Server({ interceptors })`). grpc-js is passed in, never imported:
// a program that runs only the proxy does not load it. Request data a filter holds back while a
// hook waits is queued in order and sent once the hooks let the call go. Message hooks run on
// sendMessage / receiveMessage, in the same order, on the application's objects
// (grpc-js-messages.ts); a call whose filters have none sees no message code at all.
import type * as grpcJs from '@grpc/grpc-js';
import { peerIdentity } from '../common/peer-identity.js';
import type { Filter, FilterReject } from './filter.js';
import { FilterCall, hasMessageHooks, wantsDecoded } from './filter-call.js';
import { InterceptedMessage, serializersOf } from './grpc-js-messages.js';
import { GrpcJsMetadata } from './grpc-js-metadata.js';

export interface FilterInterceptorOptions {
  /** Clock milliseconds (rate limits, durations); default performance.now(). */
  readonly now?: () => number;
  /**
   * Service definitions (a client constructor's `.service`, a generated `…Service`) whose
   * serializers make `FilterMessage.bytes` where grpc-js gives an interceptor none: a
   * client's response messages, a server's request messages. Without the method's, reading
   * `bytes` of such a message throws (`decoded`, `index` still work).
   */
  readonly services?: readonly grpcJs.ServiceDefinition[];
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
  const clock = { now: options.now ?? (() => performance.now()) };
  const messageHooks = hasMessageHooks(list);
  const decoded = wantsDecoded(list);
  const serializers = messageHooks ? serializersOf(options.services) : undefined;
  return (callOptions, nextCall) => {
    const definition = callOptions.method_definition;
    const method = definition.path;
    const gate = new Gate();
    let fc: FilterCall | undefined;
    const downstream = nextCall(callOptions);
    /** A request-message hook's status, which replaces the one the cancelled call reports. */
    let refused: grpcJs.StatusObject | undefined;
    let sent = 0;
    let received = 0;
    const requester: grpcJs.Requester = {
      start(metadata, listener, next) {
        const call = new FilterCall(
          list,
          'client',
          method,
          { address: '', secure: false, identity: undefined },
          '',
          '',
          clock,
        );
        fc = call;
        gate.hold();
        const inner: grpcJs.Listener = {
          onReceiveMetadata(md, nextMd) {
            call.responseHeaders(new GrpcJsMetadata(md));
            nextMd(md);
          },
          onReceiveStatus(status, nextStatus) {
            if (refused !== undefined) {
              // The hooks saw these trailers when the call was refused.
              nextStatus(refused);
              return;
            }
            call.trailers(status.code, new GrpcJsMetadata(status.metadata));
            call.end(status.code, status.details);
            nextStatus(status);
          },
        };
        if (messageHooks) {
          const serialize = serializers!.get(method)?.response;
          inner.onReceiveMessage = (message: unknown, nextMessage: (m: unknown) => void) => {
            const m = new InterceptedMessage(
              message,
              received++,
              decoded ? message : undefined,
              serialize,
              `response of ${method}`,
            );
            call.responseMessage(m);
            nextMessage(message);
          };
        }
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
        if (!messageHooks) {
          gate.pass(() => next(message));
          return;
        }
        gate.pass(() => {
          const call = fc!;
          const m = new InterceptedMessage(
            message,
            sent++,
            decoded ? message : undefined,
            definition.requestSerialize as (v: unknown) => Buffer,
            `request of ${method}`,
          );
          const reject = call.requestMessage(m);
          if (reject === undefined) {
            next(message);
            return;
          }
          // Nothing more goes out; the call is cancelled below it and ends with this status.
          gate.shut();
          const md = rejectMetadata(grpc, reject);
          refused = { code: reject.code, details: reject.message, metadata: md };
          call.trailers(reject.code, new GrpcJsMetadata(md));
          call.end(reject.code, reject.message);
          downstream.cancelWithStatus(reject.code, reject.message);
        });
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
    return new grpc.InterceptingCall(downstream, requester);
  };
}

/** The filters as a grpc-js server interceptor (`new grpc.Server({ interceptors: [...] })`). */
export function filterServerInterceptor(
  grpc: GrpcJs,
  filters: Filter | readonly Filter[],
  options: FilterInterceptorOptions = {},
): grpcJs.ServerInterceptor {
  const list = asList(filters);
  const clock = { now: options.now ?? (() => performance.now()) };
  const messageHooks = hasMessageHooks(list);
  const decoded = wantsDecoded(list);
  const serializers = messageHooks ? serializersOf(options.services) : undefined;
  return (methodDescriptor, call) => {
    const gate = new Gate();
    let fc: FilterCall | undefined;
    const method = methodDescriptor.path;
    /** A request-message hook ended the call; the handler's own status is not filtered again. */
    let refused = false;
    let sent = 0;
    let received = 0;
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
              clock,
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
            if (!messageHooks) {
              gate.pass(() => nextMessage(message));
              return;
            }
            gate.pass(() => {
              const filterCall = fc!;
              const m = new InterceptedMessage(
                message,
                received++,
                decoded ? message : undefined,
                serializers!.get(method)?.request,
                `request of ${method}`,
              );
              const reject = filterCall.requestMessage(m);
              if (reject === undefined) {
                nextMessage(message);
                return;
              }
              // The handler gets no more messages, and is told the call is cancelled.
              gate.shut();
              refused = true;
              const md = rejectMetadata(grpc, reject);
              filterCall.trailers(reject.code, new GrpcJsMetadata(md));
              filterCall.end(reject.code, reject.message);
              call.sendStatus({ code: reject.code, details: reject.message, metadata: md });
            });
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
        if (refused) {
          next(status);
          return;
        }
        const md = status.metadata ?? new grpc.Metadata();
        fc?.trailers(status.code, new GrpcJsMetadata(md));
        fc?.end(status.code, status.details ?? '');
        next({ ...status, metadata: md });
      },
    };
    if (messageHooks) {
      const serialize = methodDescriptor.responseSerialize as (v: unknown) => Buffer;
      responder.sendMessage = (message: unknown, next: (m: unknown) => void) => {
        if (refused) {
          next(message);
          return;
        }
        const m = new InterceptedMessage(
          message,
          sent++,
          decoded ? message : undefined,
          serialize,
          `response of ${method}`,
        );
        fc?.responseMessage(m);
        next(message);
      };
    }
    return new grpc.ServerInterceptingCall(call, responder);
  };
}
