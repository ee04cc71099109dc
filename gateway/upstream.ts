// What the gateway needs from whatever carries its gRPC calls, in its own words: send a
// request (path, metadata, one message, deadline), hear response headers, messages and the
// final status with trailers. The proxy implements it over its clusters, balancers and
// upstream calls (proxy/gateway-call.ts), so transcoded calls are balanced, retried and
// deadlined like proxied ones.

import type { PeerIdentity } from '../common/peer-identity.js';

/** Header fields as a flat `[name, value, name, value, …]` list, names lower-case. */
export type MetadataFields = readonly string[];

export interface GatewayCallRequest {
  /** `/package.Service/Method`. */
  readonly path: string;
  /** `:authority` for the upstream request (the client's Host). */
  readonly authority: string;
  /** Request metadata, already filtered by the gateway's allow-list. */
  readonly metadata: MetadataFields;
  /** The request message, unframed; or, with `framed`, length-prefixed messages as they are. */
  readonly message: Uint8Array;
  /** `message` is already gRPC-framed (gRPC-Web, a client stream): sent upstream unchanged. */
  readonly framed?: boolean;
  /** The client's deadline in milliseconds (from `grpc-timeout`), or undefined for none. */
  readonly timeoutMs: number | undefined;
  /** The HTTP client's `address:port`, for logs; "" when unknown. */
  readonly peer: string;
  /** The client's connection is TLS. */
  readonly secure?: boolean;
  /** The client's verified certificate's identity (mutual TLS), for filters and logs. */
  readonly identity?: PeerIdentity | undefined;
}

/**
 * What a call tells the gateway. `onHeaders` at most once and before any message; `onEnd`
 * exactly once and last (also for a call that never reached an upstream); `onEnd` may come
 * synchronously from `call()` when the call cannot start (no route, bad metadata).
 */
export interface GatewayCallSink {
  /** The upstream's response headers (pseudo-headers included, as received). */
  onHeaders(fields: MetadataFields): void;
  /**
   * One response message. false: the client is behind (its connection's buffer is full); the
   * upstream is paused once the chunk that carried this message is taken apart, until
   * `GatewayCall.resume()`. So a slow reader holds the proxy to the upstream's flow-control
   * window, not to the whole response.
   */
  onMessage(message: Buffer): boolean;
  /**
   * When present, response DATA comes here as it arrives, still framed, instead of through
   * `onMessage` (gRPC-Web passes the bytes on without taking them apart). false: as for
   * `onMessage`.
   */
  onData?(chunk: Buffer): boolean;
  /** The final status, its message decoded; `trailers` as received ([] for one the proxy made). */
  onEnd(code: number, message: string, trailers: MetadataFields): void;
}

export interface GatewayCall {
  /** The HTTP client went away: cancel upstream; `onEnd` still follows (CANCELLED). */
  cancel(): void;
  /** The sink whose `onData` returned false can take more now. */
  resume(): void;
}

export interface GatewayUpstream {
  call(request: GatewayCallRequest, sink: GatewayCallSink): GatewayCall;
}
