// What the data path needs from a client's HTTP/2 connection and its streams, with no protocol
// library's types: a stream handler gets request headers as flat fields and a DownstreamStream
// to answer on, and the connection it came on as a ConnectionInfo (who the client is) and a
// DownstreamConnection (what the proxy may do to it: PING it, drain it, close it).
import type { Duplex } from 'node:stream';
import type { PeerIdentity } from '../common/peer-identity.js';
import type { HeaderFields } from './header-fields.js';

/** Who is on the other end of a client connection: fixed for the connection's life. */
export interface ConnectionInfo {
  /** The listener's name. */
  readonly listener: string;
  /** The client's `address:port` (`[v6]:port`), '' when the socket does not say. */
  readonly peer: string;
  /** The TLS session, when the connection is TLS (on the listener, or inside a tunnel). */
  readonly tls: TlsInfo | undefined;
  /**
   * Forward-proxy mode: the cluster named by the CONNECT request this connection came
   * through; every call on it goes there.
   */
  readonly tunnelCluster: string | undefined;
}

export interface TlsInfo {
  /** The ALPN protocol negotiated ('h2'). */
  readonly alpn: string;
  /** The client presented a certificate that the listener's CA verified. */
  readonly authorized: boolean;
  /** What the verified client certificate says the client is (undefined when unverified). */
  readonly identity: PeerIdentity | undefined;
}

/**
 * A request stream as the proxy answers it. Response methods are no-ops once the stream has
 * closed. Handler calls come from socket events, never from inside these methods.
 */
export interface DownstreamStream {
  readonly info: ConnectionInfo;
  /** The connection the stream belongs to. */
  readonly connection: DownstreamConnection;
  /**
   * Sends the stream's events to `handler` from now on. Request data (and its end) waits
   * until the first `resume()`: a call reads the request once it has somewhere to send it.
   */
  attach(handler: DownstreamHandler): void;
  /** Stops delivering request data (flow control holds the client back). */
  pause(): void;
  /** Delivers request data (and its end), asynchronously. */
  resume(): void;
  /** The client's SETTINGS_MAX_HEADER_LIST_SIZE (Infinity when it set none). */
  peerMaxHeaderListSize(): number;
  /** Response headers went out. */
  readonly headersSent: boolean;
  /** Closed either way: nothing more can be sent. */
  readonly closed: boolean;
  /** Response bytes written and not yet sent to the client (window or socket full). */
  readonly unsentBytes: number;
  /** Sends response headers; `endStream`: they are the whole answer (trailers-only). */
  respond(fields: HeaderFields, endStream: boolean): void;
  /** Sends response data; false asks the caller to wait for `onResponseDrain`. */
  write(chunk: Buffer): boolean;
  /** Ends the response with `trailers`, after the data written before. */
  end(trailers: HeaderFields): void;
  /** RST_STREAM with `code`; `onStreamClose` follows. */
  reset(code: number): void;
}

/** What a stream tells the call it carries. */
export interface DownstreamHandler {
  onRequestData(stream: DownstreamStream, chunk: Buffer): void;
  /** The request is complete (END_STREAM). */
  onRequestEnd(stream: DownstreamStream): void;
  /** A `write()` that returned false may be followed by more now. */
  onResponseDrain(stream: DownstreamStream): void;
  /**
   * The stream is gone, once, last. `byClient`: the client reset it while its connection
   * lived (counted towards its reset limit), rather than it finishing or its connection going.
   */
  onStreamClose(stream: DownstreamStream, byClient: boolean): void;
}

/** A client connection as the proxy manages it. */
export interface DownstreamConnection {
  readonly info: ConnectionInfo;
  /** The proxy decided to end it, or it is gone. */
  readonly closing: boolean;
  /** Bytes received and sent so far (the liveness probe's measure of progress). */
  bytesRead(): number;
  bytesWritten(): number;
  /** Frames or bytes waiting to be written to the client. */
  outboundQueued(): number;
  /** Whether the client's first SETTINGS arrived. */
  readonly handshakeDone: boolean;
  /** Sends a PING; `onAck` when it is answered. False when it could not be sent. */
  ping(onAck: () => void): boolean;
  /** GOAWAY with `code`: streams already open finish, then the connection closes. */
  drain(code: number): void;
  /** Closes now: open streams end, their calls are cancelled upstream. */
  destroy(): void;
}

/** What a listener hands each new request. */
export type DownstreamRequestHandler = (
  stream: DownstreamStream,
  /** The request's header fields as they came ([name, value, …], a repeated name kept apart). */
  fields: HeaderFields,
  /** The request headers' size as SETTINGS_MAX_HEADER_LIST_SIZE counts it. */
  headerBytes: number,
) => void;

/** Serves HTTP/2 on sockets a listener accepted (after TLS, or after sniffing the preface). */
export interface DownstreamTransport {
  serve(socket: Duplex, info: ConnectionInfo): DownstreamConnection;
}
