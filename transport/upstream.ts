// What the data path needs from an upstream HTTP/2 connection, with no protocol library's
// types: open a connection on a dialed socket, open streams on it, move data with
// backpressure, learn how each stream ended. transport/node-http2/ implements it today.
import type { Duplex } from 'node:stream';
import type { HeaderFields } from './header-fields.js';

/** The peer's SETTINGS that limit what may be sent to it. */
export interface UpstreamSettings {
  /** SETTINGS_MAX_CONCURRENT_STREAMS (2^32-1 when the peer sets none). */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE (Infinity when the peer sets none). */
  readonly maxHeaderListSize: number;
}

/** Local choices for a new connection. */
export interface UpstreamConnectOptions {
  readonly scheme: 'http' | 'https';
  /** `host:port`, for the connection's default `:authority`. */
  readonly authority: string;
  /** SETTINGS_INITIAL_WINDOW_SIZE we announce: what one stream may have in flight to us. */
  readonly streamWindowBytes: number;
  /** The connection-level window, raised once the connection is up. */
  readonly connectionWindowBytes: number;
  /** Further local SETTINGS. */
  readonly settings: UpstreamLocalSettings;
}

/** Local SETTINGS a connection may announce besides its window. */
export interface UpstreamLocalSettings {
  readonly enablePush?: boolean;
  readonly headerTableSize?: number;
  readonly maxHeaderListSize?: number;
  readonly maxFrameSize?: number;
}

/**
 * What a connection tells its owner. Called asynchronously (never from `connect()` or a method
 * of the connection), at most once `closed`; nothing after it.
 */
export interface UpstreamConnectionEvents {
  /** The peer's SETTINGS arrived: the first time, the connection is ready for streams. */
  settings(connection: UpstreamConnection, settings: UpstreamSettings): void;
  /** The peer sent GOAWAY: no new streams; those beyond its last stream id are refused. */
  goaway(connection: UpstreamConnection, code: number, data: Buffer | undefined): void;
  /**
   * The connection reported an error. `socket`: the socket failed under the HTTP/2 layer,
   * which does not always say so itself (a TLS alert read after the handshake). `protocol`:
   * the peer sent invalid HTTP/2, and the connection is being torn down.
   */
  error(
    connection: UpstreamConnection,
    error: Error,
    source: 'session' | 'socket',
    protocol: boolean,
  ): void;
  /** The last open stream closed. */
  idle(connection: UpstreamConnection): void;
  /** The connection is gone (closed by either side, or destroyed). */
  closed(connection: UpstreamConnection): void;
}

/** Opens HTTP/2 connections on sockets a dialer made. */
export interface UpstreamTransport {
  /** Starts HTTP/2 on `socket` at once (the preface goes out); `events` say what follows. */
  connect(
    socket: Duplex,
    options: UpstreamConnectOptions,
    events: UpstreamConnectionEvents,
  ): UpstreamConnection;
}

/** One HTTP/2 connection to an endpoint. */
export interface UpstreamConnection {
  /** Streams opened and not yet closed (counted by the connection, not its callers). */
  readonly activeStreams: number;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS (100 until its SETTINGS arrive). */
  readonly maxStreams: number;
  /** The peer's SETTINGS_MAX_HEADER_LIST_SIZE. */
  readonly maxHeaderListSize: number;
  /** Closing or gone: no new streams. */
  readonly closing: boolean;
  /**
   * Opens a stream and sends `headers` (the transport may queue it while the peer's stream
   * limit is reached). Null when the connection cannot take streams any more (closing, GOAWAY
   * not yet reported); an Error when it refused these headers, the call's own fault. The
   * handler is called asynchronously, never from `openStream()`.
   */
  openStream(headers: HeaderFields, handler: UpstreamHandler): UpstreamStream | Error | null;
  /** Sends a PING; false when it could not be sent (closing, too many outstanding). */
  ping(onAck: () => void): boolean;
  /** Bytes received so far; -1 when the socket does not count them. */
  bytesRead(): number;
  /** Bytes handed to the socket so far; -1 when the socket does not count them. */
  bytesWritten(): number;
  /** True while the socket holds bytes it could not write yet (or cannot tell). */
  writePending(): boolean;
  /** GOAWAY and close once the open streams finish. */
  close(): void;
  /** Closes now: open streams end as lost, the socket is destroyed. */
  destroy(): void;
}

/** How a stream ended, as its `close` handler learns. */
export const StreamOutcome = {
  /** The peer ended the stream (END_STREAM received and read). */
  COMPLETE: 0,
  /**
   * The peer never processed it: RST_STREAM(REFUSED_STREAM), or it never left (beyond a
   * GOAWAY's last stream id, or queued when the connection closed). Safe to send elsewhere.
   */
  REFUSED: 1,
  /** Reset (by the peer, or by us) with `code`; the peer may have processed it. */
  RESET: 2,
  /** The connection went away under the stream. */
  LOST: 3,
} as const;
export type StreamOutcome = (typeof StreamOutcome)[keyof typeof StreamOutcome];

/**
 * What a stream tells its caller. Each callback gets the stream first, so one handler object
 * can tell a current stream from an abandoned earlier one without a closure per stream.
 */
export interface UpstreamHandler {
  /** Response headers; `endStream`: they are the whole answer (gRPC's trailers-only). */
  onHeaders(stream: UpstreamStream, fields: HeaderFields, endStream: boolean): void;
  onData(stream: UpstreamStream, chunk: Buffer): void;
  onTrailers(stream: UpstreamStream, fields: HeaderFields): void;
  /** END_STREAM arrived and everything before it was read. */
  onEnd(stream: UpstreamStream): void;
  /** A `write()` that returned false may be followed by more now. */
  onDrain(stream: UpstreamStream): void;
  /**
   * The stream is gone, once, last. `code` is the RST_STREAM code (0 for none); `error` what
   * the transport reported on the stream, if anything.
   */
  onClose(
    stream: UpstreamStream,
    outcome: StreamOutcome,
    code: number,
    error: Error | undefined,
  ): void;
}

/** One request/response exchange on an upstream connection. */
export interface UpstreamStream {
  /** Queues request data; false asks the caller to wait for `onDrain`. */
  write(chunk: Buffer): boolean;
  /** Ends the request (END_STREAM). Nothing after a close. */
  end(): void;
  /** Stops delivering response data (flow control holds the peer back). */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Response bytes received and not yet delivered (held while paused). */
  readonly bufferedBytes: number;
  /** Whether ending it now takes a RST_STREAM frame (not yet closed either way). */
  readonly open: boolean;
  /**
   * RST_STREAM(CANCEL) when open; otherwise drops whatever it still holds. The handler's
   * onClose follows asynchronously, never from here.
   */
  cancel(): void;
  /**
   * Reads on and drops the response, leaving the stream open: for a stream whose reset must
   * wait (see the endpoint pool's reset budget).
   */
  discard(): void;
}
