// The downstream transport over switchyard's own HTTP/2 (h2/): a client connection is one
// H2Connection in the server role, each request a DownstreamStream. Request DATA is
// acknowledged to the client (WINDOW_UPDATE) only as the call takes it: until the call starts
// reading, and while it is paused, it waits here and the client's window closes.
import type { Duplex } from 'node:stream';
import {
  H2Connection,
  type H2ConnectionError,
  type H2ConnectionHandler,
  type H2ConnectionOptions,
  type H2Stream,
  type H2StreamHandler,
  StreamOutcome,
} from '../../h2/connection/index.js';
import type { HeaderList } from '../../h2/hpack/index.js';
import type {
  ConnectionInfo,
  DownstreamConnection,
  DownstreamHandler,
  DownstreamRequestHandler,
  DownstreamStream,
} from '../downstream.js';
import type { HeaderFields } from '../header-fields.js';
import { EventGate, type GatedEvent } from './event-gate.js';

/** What the connection tells its listener. */
export interface DownstreamConnectionEvents {
  /** The client's first SETTINGS arrived: its handshake is done. */
  handshakeDone(connection: DownstreamConnection): void;
  /**
   * The connection is gone. `error`: the connection error that ended it (ours: the client
   * broke the protocol or flooded; or its socket failed), null for a clean close.
   */
  closed(connection: DownstreamConnection, error: H2ConnectionError | null): void;
}

export type H2DownstreamOptions = Omit<H2ConnectionOptions, 'role'>;

/** Every request stream's events: `context` is the seam's stream. */
const STREAM_EVENTS: H2StreamHandler = {
  onHeaders() {
    // A server sees request headers through onStream; a second block is trailers.
  },
  onData(stream, buf, start, end, endStream) {
    (stream.context as H2DownstreamStream).dataArrived(buf, start, end, endStream);
  },
  onTrailers(stream) {
    // gRPC requests carry no trailers; they end the request all the same.
    (stream.context as H2DownstreamStream).dataArrived(EMPTY, 0, 0, true);
  },
  onDrain(stream) {
    const s = stream.context as H2DownstreamStream;
    if (!s.owner.gate.busy) s.handler?.onResponseDrain(s);
    else s.owner.gate.run(() => s.handler?.onResponseDrain(s));
  },
  onClose(stream, outcome) {
    (stream.context as H2DownstreamStream).closedBy(outcome);
  },
};

const EMPTY = Buffer.alloc(0);

export class H2DownstreamConnection implements DownstreamConnection, H2ConnectionHandler {
  readonly h2: H2Connection;
  handshakeDone = false;
  readonly gate = new EventGate();

  constructor(
    private readonly socket: Duplex,
    readonly info: ConnectionInfo,
    options: H2DownstreamOptions,
    private readonly onRequest: DownstreamRequestHandler,
    private readonly events: DownstreamConnectionEvents,
  ) {
    this.gate.enter();
    this.h2 = new H2Connection(socket, this, { ...options, role: 'server' });
    this.gate.leave();
  }

  get closing(): boolean {
    return this.h2.closing;
  }

  bytesRead(): number {
    const n = (this.socket as { bytesRead?: unknown }).bytesRead;
    return typeof n === 'number' ? n : 0;
  }

  bytesWritten(): number {
    const n = (this.socket as { bytesWritten?: unknown }).bytesWritten;
    return typeof n === 'number' ? n : 0;
  }

  outboundQueued(): number {
    return this.socket.writableLength + (this.h2.writePending ? 1 : 0);
  }

  ping(onAck: () => void): boolean {
    return this.h2.ping(() => onAck());
  }

  drain(code: number): void {
    this.gate.enter();
    this.h2.close(code);
    this.gate.leave();
  }

  destroy(): void {
    this.gate.enter();
    this.h2.destroy();
    this.gate.leave();
  }

  // ---- H2ConnectionHandler ----

  onStream(stream: H2Stream, list: HeaderList, endStream: boolean): H2StreamHandler {
    const s = new H2DownstreamStream(this, stream);
    stream.context = s;
    if (endStream) s.requestEnded = true;
    this.onRequest(s, list.toArray(), list.size);
    return STREAM_EVENTS;
  }

  onSettings(): void {
    if (this.handshakeDone) return;
    this.handshakeDone = true;
    this.events.handshakeDone(this);
  }

  onGoaway(): void {
    // The client goes away: its open streams finish; the connection closes after the last.
  }

  onClose(error: H2ConnectionError | null): void {
    this.gate.run(() => this.events.closed(this, error));
  }

  // ---- for streams ----
}

class H2DownstreamStream implements DownstreamStream, GatedEvent {
  handler: DownstreamHandler | null = null;
  /** END_STREAM arrived (delivered once the data before it is). */
  requestEnded = false;
  /** Request data waits until the call first resumes. */
  private paused = true;
  /** Request data not yet delivered: before start(), and while paused. */
  private queue: Buffer[] | null = null;
  private resetByUs = false;
  private closeOutcome = -1;
  private finished = false;
  private releasing = false;

  constructor(
    readonly owner: H2DownstreamConnection,
    private readonly h2: H2Stream,
  ) {}

  get info(): ConnectionInfo {
    return this.owner.info;
  }

  get connection(): DownstreamConnection {
    return this.owner;
  }

  get headersSent(): boolean {
    return this.h2.headersSent;
  }

  get closed(): boolean {
    return this.h2.closed;
  }

  get unsentBytes(): number {
    return this.h2.queuedBytes;
  }

  peerMaxHeaderListSize(): number {
    return this.owner.h2.peerMaxHeaderListSize;
  }

  attach(handler: DownstreamHandler): void {
    this.handler = handler;
    if (this.closeOutcome >= 0) this.owner.gate.runEvent(this);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.queue !== null || this.requestEnded) process.nextTick(() => this.release());
  }

  respond(fields: HeaderFields, endStream: boolean): void {
    if (this.h2.closed) return;
    const owner = this.owner;
    owner.gate.enter();
    this.h2.sendHeaders(fields, endStream);
    owner.gate.leave();
  }

  write(chunk: Buffer): boolean {
    if (this.h2.closed) return true;
    const owner = this.owner;
    owner.gate.enter();
    const ok = this.h2.write(chunk, false);
    owner.gate.leave();
    return ok;
  }

  end(trailers: HeaderFields): void {
    if (this.h2.closed) return;
    const owner = this.owner;
    owner.gate.enter();
    // No trailers (a plain HTTP answer): END_STREAM on an empty DATA frame.
    if (trailers.length === 0) this.h2.end();
    else this.h2.sendHeaders(trailers, true);
    owner.gate.leave();
  }

  reset(code: number): void {
    if (this.h2.closed) return;
    this.resetByUs = true;
    const owner = this.owner;
    owner.gate.enter();
    this.h2.reset(code);
    owner.gate.leave();
  }

  // ---- from the connection ----

  dataArrived(buf: Buffer, start: number, end: number, endStream: boolean): void {
    const n = end - start;
    if (n > 0) {
      const chunk = buf.subarray(start, end);
      if (this.handler === null || this.paused || this.queue !== null) {
        (this.queue ??= []).push(chunk);
      } else {
        this.handler.onRequestData(this, chunk);
        this.h2.consume(n);
      }
    }
    if (!endStream) return;
    this.requestEnded = true;
    if (this.handler !== null && this.queue === null && !this.paused) this.deliverEnd();
  }

  closedBy(outcome: StreamOutcome): void {
    this.closeOutcome = outcome;
    // Request data not taken yet is of no use to a call whose stream is gone.
    this.queue = null;
    this.requestEnded = false;
    if (this.handler === null) return;
    this.owner.gate.runEvent(this);
  }

  /** GatedEvent: the close, delivered once the seam's own call that caused it has returned. */
  runGated(): void {
    this.finish();
  }

  private deliverEnd(): void {
    this.requestEnded = false;
    this.handler!.onRequestEnd(this);
  }

  /** Delivers what waited, in order, until paused again. */
  private release(): void {
    const handler = this.handler;
    if (handler === null || this.releasing || this.finished) return;
    this.releasing = true;
    const queue = this.queue;
    while (queue !== null && queue.length > 0 && !this.paused && this.queue === queue) {
      const chunk = queue.shift()!;
      handler.onRequestData(this, chunk);
      if (!this.h2.closed) this.h2.consume(chunk.length);
    }
    if (queue !== null && queue.length === 0 && this.queue === queue) this.queue = null;
    this.releasing = false;
    if (this.queue === null && !this.paused && this.requestEnded) this.deliverEnd();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const byClient =
      this.closeOutcome === StreamOutcome.RESET && !this.resetByUs && !this.owner.h2.closed;
    this.handler!.onStreamClose(this, byClient);
  }
}
