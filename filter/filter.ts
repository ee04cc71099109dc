// The filter API: one object with hooks per call phase, run in the proxy's call path and,
// through the adapters, as a grpc-js client or server interceptor. A filter sees metadata
// through `FilterMetadata`, so the same code works on the proxy's header fields and on grpc-js
// `Metadata`; it never sees the transport.
import type { PeerIdentity } from '../common/peer-identity.js';

/**
 * Metadata (request headers, response headers or trailers) as a filter edits it. Names are
 * lower-case; `-bin` values are the base64 text as sent. Pseudo-headers (`:path`) and the
 * `grpc-` names the protocol owns are readable but a filter should not change them.
 */
export interface FilterMetadata {
  /** The first value of `name`, or undefined. */
  get(name: string): string | undefined;
  /** Makes `value` the only value of `name`. */
  set(name: string, value: string): void;
  /** Adds one more value of `name`, after any already there. */
  add(name: string, value: string): void;
  /** Removes every value of `name`. */
  remove(name: string): void;
  /** The names present (each once), in order of first appearance. */
  names(): string[];
}

/** Where a filter runs. */
export type FilterSite = 'proxy' | 'client' | 'server';

/** The client a call came from. */
export interface FilterPeer {
  /** `address:port` (`[v6]:port`), '' when unknown (a grpc-js client: the server it calls). */
  readonly address: string;
  /** The connection is TLS (the server's certificate at least; `identity` says about the client's). */
  readonly secure: boolean;
  /** The verified client certificate's identity (mutual TLS), when there is one. */
  readonly identity: PeerIdentity | undefined;
}

/**
 * One call as filters see it, made once per call (only for calls that have filters). Filters
 * earlier in the list can leave things for later ones: a JWT filter sets `claims`, a rate
 * limit keyed by `jwt.sub` reads them.
 */
export interface FilterContext {
  readonly site: FilterSite;
  /** `/package.Service/Method`. */
  readonly method: string;
  readonly peer: FilterPeer;
  /**
   * The proxy's route name: '' while the listener's filters run (the route is chosen after
   * them) and in grpc-js.
   */
  readonly route: string;
  /** The proxy's listener name; '' in grpc-js. */
  readonly listener: string;
  /** Verified token claims, set by an authentication filter; undefined until one does. */
  claims: Readonly<Record<string, unknown>> | undefined;
  /** Anything else filters pass along, by a name they agree on. */
  readonly values: Map<string, unknown>;
  /**
   * In `onRequestHeaders`, in the proxy: send the call by the route named `name` instead of
   * the one its headers match. See "Choosing the route" on `Filter`. In grpc-js there are no
   * routes: it throws, so the call ends INTERNAL.
   */
  setRoute(name: string): void;
}

/** Ends the call with a status instead of letting it through. */
export interface FilterReject {
  /** A gRPC status code other than 0 (OK). */
  readonly code: number;
  readonly message: string;
  /** Extra trailers sent with the status (`grpc-retry-pushback-ms`, …). */
  readonly trailers?: Readonly<Record<string, string>>;
}

/** What a request-header hook returns: nothing to go on, or a status that ends the call. */
export type RequestVerdict = FilterReject | undefined | void;

/** What a filter's message hooks see: the bytes alone, or the decoded message too. */
export type MessageMode = 'raw' | 'decoded';

/**
 * One gRPC message as a message hook sees it; read-only (a hook observes a message, it does
 * not change it).
 *
 * In the proxy: `bytes` is the payload of one length-prefixed message (the 5-byte prefix not
 * included), exactly as sent; a compressed message (`compressed`) is passed as is and never
 * decoded. With `messages: 'decoded'` and descriptors for the method (`descriptors:` .proto
 * files or reflection, the gateway's), `decoded` is the message in its proto3 JSON form
 * (lowerCamelCase names, 64-bit integers as strings, bytes as base64, enums by name);
 * otherwise undefined.
 *
 * In a grpc-js interceptor the application's objects pass instead of bytes: `decoded` is that
 * object (what the client sends or the server handler receives, as its serializer made it)
 * when the filter asks for `'decoded'`; `bytes` is the object serialized by the method's own
 * serializer, made on first read, so it can differ from the bytes on the wire (a deserializer
 * that fills in defaults, as proto-loader's `defaults: true`, makes them longer);
 * `compressed` is false (grpc-js compresses after interceptors).
 */
export interface FilterMessage {
  readonly bytes: Uint8Array;
  readonly compressed: boolean;
  /** 0 for the first message of its direction in the call. */
  readonly index: number;
  readonly decoded: unknown;
}

/** The end of a call, as a plain record. */
export interface FilterCallEnd {
  /** The gRPC status code the client got (or will get). */
  readonly code: number;
  readonly message: string;
  /** Milliseconds from the request headers to the status. */
  readonly durationMs: number;
}

/**
 * A filter. Every hook is optional and called synchronously; a hook that must wait (a key
 * fetch) may return a Promise, which is awaited only then, so a synchronous filter costs no
 * microtask. Hooks are called in list order for the request and for the response alike.
 *
 * - `onRequestHeaders` may read and change the request metadata, and end the call by
 *   returning a `FilterReject` (the client gets it trailers-only; later filters and the
 *   upstream never see the call). A thrown error or rejected Promise ends the call INTERNAL.
 * - `onResponseHeaders` and `onTrailers` may change the metadata going to the client; they
 *   are synchronous (a Promise they return is not awaited): the response is not held back.
 * - `onCallEnd` is told once per call that reached the filter, whatever ended it (also when
 *   an earlier filter rejected it: then `onRequestHeaders` of this filter was not called).
 *
 * Message hooks (`onRequestMessage`, `onResponseMessage`) are opt-in: only a call whose list
 * has one reads the gRPC framing (see `FilterMessage`); a call without them forwards DATA
 * untouched. They are synchronous: holding a message while a promise runs would mean buffering
 * the stream behind it and withholding flow-control credit from the sender.
 * `onRequestMessage` may end the call by returning a `FilterReject` (the upstream stream is
 * cancelled, the client gets the status, later messages are dropped); one that throws or
 * returns a Promise ends the call INTERNAL. `onResponseMessage` only looks: what it returns
 * or throws changes nothing, as for `onResponseHeaders`.
 *
 * Choosing the route (in the proxy). The listener's filters run before the route is chosen,
 * so routing sees the headers they set or changed (as Envoy does after "clear route cache").
 * Then the route is the one named by the last `ctx.setRoute(name)` call, if a filter made
 * one, else the first whose match fits the headers; its filters run next. A route's filter may
 * call `setRoute` too: once the rest of its route's filters have run, the named route's
 * filters run, and the call goes by that route. A name no route has ends the call INTERNAL
 * (and a warning is logged); so does a call whose route changed more than 8 times, or a pick
 * in a CONNECT tunnel, whose calls all go to the tunnel's cluster.
 *
 * Time. The call's deadline (`grpc-timeout`, capped by the route's cluster) runs from the
 * request headers: a filter still waiting when it passes ends the call DEADLINE_EXCEEDED,
 * and the upstream gets the time that is left. A client that cancels while a filter waits
 * ends the call; what the filter decides then is ignored.
 */
export interface Filter {
  /** For metrics and errors: `headers`, `rateLimit`, a module's file name. */
  readonly name: string;
  onRequestHeaders?(
    ctx: FilterContext,
    metadata: FilterMetadata,
  ): RequestVerdict | Promise<RequestVerdict>;
  onResponseHeaders?(ctx: FilterContext, metadata: FilterMetadata): void;
  onTrailers?(ctx: FilterContext, code: number, metadata: FilterMetadata): void;
  onCallEnd?(ctx: FilterContext, end: FilterCallEnd): void;
  /**
   * What message hooks get: `'raw'` (the default) the bytes only; `'decoded'` also the
   * message decoded, where the proxy has descriptors for the method (FilterMessage.decoded).
   */
  readonly messages?: MessageMode;
  /** Each request message from the client, in order, before it goes upstream. */
  onRequestMessage?(ctx: FilterContext, message: FilterMessage): RequestVerdict;
  /** Each response message from the upstream, in order, before it goes to the client. */
  onResponseMessage?(ctx: FilterContext, message: FilterMessage): void;
  /** Stops timers and releases what the filter holds (after a reload removed it). */
  close?(): void;
}

/**
 * What a filter module (`module: ./filters/tenant.js`) exports as `default` or `createFilter`:
 * called once at config load with the entry's `options`.
 */
export type FilterFactory = (
  options: Readonly<Record<string, unknown>>,
  env: FilterEnvironment,
) => Filter | Promise<Filter>;

/** What the proxy tells a filter factory. */
export interface FilterEnvironment {
  /** The config file's folder (relative paths in options are relative to it). */
  readonly configDir: string;
  /** `file:line:col` of the filter's entry, for error messages. */
  readonly source: string;
  /** Clock milliseconds (performance.now() unless injected). */
  readonly now: () => number;
  /**
   * This process's share of limits that are for the whole proxy: 1 / workers. Each worker
   * process runs its own filters.
   */
  readonly share: number;
}
