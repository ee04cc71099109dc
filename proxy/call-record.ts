// What observers (metrics, the access log) see of a call: plain fields, no transport. A call
// is its own record, so observing it allocates nothing.
import type { PeerIdentity } from '../common/peer-identity.js';

/** The route a call took; one object per route and config generation (a cache key). */
export interface CallRoute {
  readonly routeName: string;
  readonly cluster: { readonly name: string };
}

export interface CallRecord {
  /** `/package.Service/Method`. */
  readonly path: string;
  readonly context: CallRoute;
  /** The endpoint of the last attempt, if any. */
  readonly host: { readonly key: string } | null;
  /** The gRPC status (-1 until known) and, for statuses the proxy made, its message. */
  readonly status: number;
  readonly message: string;
  /** Request and response bytes (gRPC frames, not HTTP/2 overhead). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Attempts that never reached an endpoint (refused, no stream), and retries the policy made. */
  readonly attempts: number;
  readonly retries: number;
  /** The endpoints the call's attempts went to, comma-separated. Not for every call. */
  hostsTried(): string;
  /** Clock milliseconds. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** The client's `address:port` ("[v6]:port"), or "" when unknown. Not for every call. */
  peer(): string;
  /**
   * The client certificate's identity when the listener verified one (mutual TLS); read once
   * per client connection. Not for every call. Records made outside a listener may lack it.
   */
  peerIdentity?(): PeerIdentity | undefined;
  /** The name of the listener the call came in on. Records made outside a listener lack it. */
  listener?(): string;
}

/**
 * What the proxy tells about calls (metrics, access log). Both run on the call path,
 * synchronously: keep them cheap, and never throw. A record may be read only during the call
 * that passes it: keep values, not records, beyond callEnded.
 */
export interface CallObserver {
  callStarted(call: CallRecord): void;
  /** Once per call, when its status is known (the client may still be reading). */
  callEnded(call: CallRecord): void;
}
