// One HTTP/2 stream (RFC 9113 §5.1): its state, both flow-control windows, and the data queued
// until the peer's windows allow it. The connection does the framing; a stream keeps the books.
import type { HeaderList } from '../hpack/index.js';

/** How a stream ended, as its `onClose` learns. Same values as the transport seam's. */
export const StreamOutcome = {
  /** Both sides sent END_STREAM. */
  COMPLETE: 0,
  /**
   * The peer never processed it: RST_STREAM(REFUSED_STREAM), or above a GOAWAY's last stream
   * id. Safe to send again, elsewhere.
   */
  REFUSED: 1,
  /** Reset by either side with `code`; the peer may have processed it. */
  RESET: 2,
  /** The connection went away under the stream. */
  LOST: 3,
} as const;
export type StreamOutcome = (typeof StreamOutcome)[keyof typeof StreamOutcome];

/** RFC 9113 §5.1 states (reserved ones never occur: push is disabled). */
export const StreamState = {
  OPEN: 'open',
  HALF_CLOSED_LOCAL: 'half-closed (local)',
  HALF_CLOSED_REMOTE: 'half-closed (remote)',
  CLOSED: 'closed',
} as const;
export type StreamState = (typeof StreamState)[keyof typeof StreamState];

/**
 * Events of one stream, called synchronously from the socket's read (and `onClose` also from
 * `reset()`, `onDrain` from the connection's send pump).
 *
 * `list` is the connection's reused HeaderList: valid only during the call (copy with
 * `list.toArray()` what must outlive it). DATA comes as `buf[start, end)` of the socket's
 * chunk: nothing writes to `buf` again, so a handler may keep `buf.subarray(start, end)`; it
 * calls `stream.consume(n)` for octets it is done with, or the peer's window (and with it the
 * peer) stops: that is how a relay acknowledges DATA only as its other side accepts it.
 */
export interface H2StreamHandler {
  /**
   * A client's final response headers (1xx are dropped). A server gets a request's headers
   * through `H2ConnectionHandler.onStream` instead.
   */
  onHeaders(stream: H2Stream, list: HeaderList, endStream: boolean): void;
  onData(stream: H2Stream, buf: Buffer, start: number, end: number, endStream: boolean): void;
  /** Trailers; they end the stream's incoming side. */
  onTrailers(stream: H2Stream, list: HeaderList): void;
  /** A `write()` that returned false may be followed by more now. */
  onDrain(stream: H2Stream): void;
  /** The stream is gone: once, last. `code` is the RST_STREAM code, 0 when none. */
  onClose(stream: H2Stream, outcome: StreamOutcome, code: number): void;
}

/** What a stream asks of its connection (implemented by H2Connection). */
export interface StreamOwner {
  streamSendHeaders(stream: H2Stream, fields: readonly string[], endStream: boolean): boolean;
  streamWrite(stream: H2Stream, data: Buffer, endStream: boolean): boolean;
  streamConsume(stream: H2Stream, n: number): void;
  streamReset(stream: H2Stream, code: number): void;
}

/** The queue of a stream with nothing queued: shared, never pushed to (a push makes a new one). */
export const EMPTY_QUEUE: Buffer[] = [];

/**
 * A stream as its owner sees it: methods to send and to credit, and read-only state. Fields
 * marked internal are the connection's books; owners only read them.
 */
export class H2Stream {
  handler: H2StreamHandler;
  /** A slot for the owner (the call this stream carries, say). */
  context: unknown = undefined;

  /** We sent END_STREAM (or a reset closed the stream). */
  localEnded = false;
  /** The peer sent END_STREAM. */
  remoteEnded = false;
  closed = false;
  /** Response headers arrived (client), or the stream began with request headers (server). */
  headersReceived = false;
  /** We sent our headers (a client's request, or a server's response). */
  headersSent = false;

  /** internal: what we may still send on this stream (the peer's window for it). */
  sendWindow: number;
  /** internal: what the peer may still send (our window for it, as the peer sees it). */
  recvWindow: number;
  /** internal: octets consumed and not yet returned by WINDOW_UPDATE. */
  credit = 0;
  /** internal: octets delivered and not yet consumed (returned to the connection on close). */
  unconsumed = 0;
  /** internal: the peer's content-length, -1 for none, and DATA octets received. */
  contentLength = -1;
  received = 0;

  /** internal: DATA waiting for window: queue[head…], the first one from `offset`. */
  queue: Buffer[] = EMPTY_QUEUE;
  head = 0;
  offset = 0;
  queuedBytes = 0;
  /** internal: END_STREAM rides on the last queued DATA (or on `trailers`). */
  endQueued = false;
  trailers: readonly string[] | null = null;
  /** internal: in the connection's round-robin of streams with DATA and window. */
  ready = false;
  /** internal: a write() returned false; onDrain is owed. */
  wantsDrain = false;

  constructor(
    readonly id: number,
    private readonly owner: StreamOwner,
    handler: H2StreamHandler,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.handler = handler;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  get state(): StreamState {
    if (this.closed) return StreamState.CLOSED;
    if (this.localEnded) return StreamState.HALF_CLOSED_LOCAL;
    if (this.remoteEnded) return StreamState.HALF_CLOSED_REMOTE;
    return StreamState.OPEN;
  }

  /**
   * Sends headers: a server's response headers first, then (with `endStream`) trailers. Fields
   * are a flat [name, value, …] list, lower-case names, pseudo-headers first. Trailers queue
   * behind DATA still waiting for window. False when the stream can send nothing more.
   */
  sendHeaders(fields: readonly string[], endStream: boolean): boolean {
    return this.owner.streamSendHeaders(this, fields, endStream);
  }

  /**
   * Sends DATA; `endStream` puts END_STREAM on its last frame. What the peer's windows do not
   * allow yet is queued by reference (do not modify `data` afterwards). False asks the caller
   * to wait for `onDrain` (too much queued, or the socket is full); the data is taken anyway.
   */
  write(data: Buffer, endStream = false): boolean {
    return this.owner.streamWrite(this, data, endStream);
  }

  /** Ends our side with an empty END_STREAM DATA frame (or on the queued data's last frame). */
  end(): void {
    this.owner.streamWrite(this, EMPTY_BUFFER, true);
  }

  /**
   * The owner is done with `n` octets delivered by `onData`: they may be acknowledged to the
   * peer (WINDOW_UPDATE, batched at half a window, for the stream and the connection).
   */
  consume(n: number): void {
    this.owner.streamConsume(this, n);
  }

  /** Sends RST_STREAM with `code` (default CANCEL) and closes the stream (`onClose` follows). */
  reset(code = 0x8): void {
    this.owner.streamReset(this, code);
  }
}

const EMPTY_BUFFER = Buffer.alloc(0);
