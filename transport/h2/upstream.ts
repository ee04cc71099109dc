// The upstream transport over switchyard's own HTTP/2 (h2/): one H2Connection per upstream
// connection, and what its events mean in the seam's terms. The seam promises that no event
// reaches a caller from inside one of its own calls (cancel, end, close, destroy), so events the
// connection raises synchronously during such a call are held and delivered on the next tick.
import type { Duplex } from 'node:stream';
import { SwitchyardError } from '../../common/errors.js';
import {
  ConnectionErrorReason,
  H2Connection,
  type H2ConnectionError,
  type H2ConnectionHandler,
  type H2ConnectionOptions,
  H2OpenRefusal,
  type H2Stream,
  type H2StreamHandler,
} from '../../h2/connection/index.js';
import type { HeaderFields } from '../header-fields.js';
import { EventGate, type GatedEvent } from './event-gate.js';
import {
  StreamOutcome,
  type UpstreamConnectOptions,
  type UpstreamConnection,
  type UpstreamConnectionEvents,
  type UpstreamHandler,
  type UpstreamSettings,
  type UpstreamStream,
  type UpstreamTransport,
} from '../upstream.js';

const CANCEL = 0x8;
/**
 * Request data a stream holds while it waits for a stream slot (the peer's limit reached)
 * before `write()` asks its caller to wait, as a sent stream's 64 KiB high-water mark does.
 */
const QUEUED_HIGH_WATER_MARK = 65_536;
/**
 * A connection asks for its replacement this many stream ids before it runs out (2^31 - 1
 * over a connection's life): the pool drains it and dials another while calls still flow.
 */
const STREAM_IDS_RESERVE = 1_024;

/** Local choices beyond the seam's: the connection layer's limits, and a clock for tests. */
export type H2UpstreamOptions = Omit<
  H2ConnectionOptions,
  'role' | 'streamWindow' | 'connectionWindow' | 'maxHeaderListSize' | 'maxFrameSize'
>;

/** The upstream transport on switchyard's own HTTP/2. */
export function h2UpstreamTransport(options: H2UpstreamOptions = {}): UpstreamTransport {
  return {
    connect(socket, connectOptions, events) {
      return new H2UpstreamConnection(socket, connectOptions, events, options);
    },
  };
}

/** With the connection layer's defaults. */
export const h2Transport: UpstreamTransport = h2UpstreamTransport();

/** Every upstream stream's events: `context` is the seam's stream. */
const STREAM_EVENTS: H2StreamHandler = {
  onHeaders(stream, list, endStream) {
    (stream.context as H2UpstreamStream).headersArrived(list.toArray(), endStream);
  },
  onData(stream, buf, start, end, endStream) {
    (stream.context as H2UpstreamStream).dataArrived(buf, start, end, endStream);
  },
  onTrailers(stream, list) {
    (stream.context as H2UpstreamStream).trailersArrived(list.toArray());
  },
  onDrain(stream) {
    (stream.context as H2UpstreamStream).drained();
  },
  onClose(stream, outcome, code) {
    (stream.context as H2UpstreamStream).closedBy(outcome, code);
  },
};

class H2UpstreamConnection implements UpstreamConnection, UpstreamSettings, H2ConnectionHandler {
  activeStreams = 0;
  private readonly h2: H2Connection;
  private readonly socket: Duplex;
  private readonly events: UpstreamConnectionEvents;
  /** Streams waiting for a slot under the peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  private readonly waiting: H2UpstreamStream[] = [];
  readonly gate = new EventGate();
  private gone = false;
  private errorReported = false;

  constructor(
    socket: Duplex,
    options: UpstreamConnectOptions,
    events: UpstreamConnectionEvents,
    h2Options: H2UpstreamOptions,
  ) {
    this.socket = socket;
    this.events = events;
    const settings = options.settings;
    this.gate.enter();
    this.h2 = new H2Connection(socket, this, {
      ...h2Options,
      role: 'client',
      streamWindow: options.streamWindowBytes,
      connectionWindow: options.connectionWindowBytes,
      maxHeaderListSize: settings.maxHeaderListSize,
      maxFrameSize: settings.maxFrameSize,
    });
    this.gate.leave();
  }

  // ---- UpstreamConnection ----

  get maxStreams(): number {
    return this.h2.peerMaxConcurrentStreams;
  }

  get maxConcurrentStreams(): number {
    return this.h2.peerMaxConcurrentStreams;
  }

  get maxHeaderListSize(): number {
    return this.h2.peerMaxHeaderListSize;
  }

  get closing(): boolean {
    return this.h2.closing || this.h2.streamIdsLeft <= STREAM_IDS_RESERVE;
  }

  openStream(headers: HeaderFields, handler: UpstreamHandler): UpstreamStream | Error | null {
    if (this.closing) {
      // Out of stream ids soon: say no, and let the pool drain this one and dial another.
      if (!this.h2.closing) this.close();
      return null;
    }
    const stream = new H2UpstreamStream(this, handler);
    if (this.waiting.length === 0) {
      const opened = this.h2.request(headers, false, STREAM_EVENTS);
      if (opened instanceof H2OpenRefusal) {
        if (opened === H2OpenRefusal.HEADERS_TOO_LARGE) {
          return new SwitchyardError(
            'SWY_ERR_HEADERS_TOO_LARGE',
            `the request's header list is larger than the backend's limit of ${this.maxHeaderListSize} octets`,
          );
        }
        if (opened !== H2OpenRefusal.MAX_STREAMS) return null;
      } else {
        stream.attach(opened);
        this.activeStreams++;
        return stream;
      }
    }
    // The peer's stream limit is reached: the stream waits for a slot, as nghttp2 queues it.
    stream.headers = headers;
    this.waiting.push(stream);
    this.activeStreams++;
    return stream;
  }

  ping(onAck: () => void): boolean {
    return this.h2.ping(() => onAck());
  }

  bytesRead(): number {
    const n = (this.socket as { bytesRead?: unknown }).bytesRead;
    return typeof n === 'number' ? n : -1;
  }

  bytesWritten(): number {
    const n = (this.socket as { bytesWritten?: unknown }).bytesWritten;
    return typeof n === 'number' ? n : -1;
  }

  writePending(): boolean {
    return this.h2.writePending || this.socket.writableLength > 0;
  }

  close(): void {
    this.gate.enter();
    this.refuseWaiting();
    this.h2.close();
    this.gate.leave();
  }

  destroy(): void {
    this.gate.enter();
    this.refuseWaiting();
    this.h2.destroy();
    this.gate.leave();
  }

  // ---- H2ConnectionHandler ----

  onStream(): H2StreamHandler {
    // A client's peer cannot open streams (the parser refuses even ids from a server).
    return STREAM_EVENTS;
  }

  onSettings(): void {
    this.openWaiting();
    this.gate.run(() => this.events.settings(this, this));
  }

  onGoaway(_lastStreamId: number, code: number, debug: Buffer): void {
    this.refuseWaiting();
    const data = debug.length > 0 ? Buffer.from(debug) : undefined;
    this.gate.run(() => this.events.goaway(this, code, data));
  }

  onClose(error: H2ConnectionError | null): void {
    this.refuseWaiting();
    if (error !== null) this.reportError(error);
    this.gate.run(() => {
      if (this.gone) return;
      this.gone = true;
      this.events.closed(this);
    });
  }

  // ---- for streams ----

  /**
   * @internal tells the owner why the connection failed, once: before the first stream it
   * takes down reports its loss, so the call's status can say what happened.
   */
  reportError(error: H2ConnectionError): void {
    if (this.errorReported) return;
    this.errorReported = true;
    const socket = error.reason === ConnectionErrorReason.SOCKET;
    // A socket that just closed is no error: the owner explains an early close itself.
    if (socket && error.cause === undefined) return;
    // GOAWAY with an error code from the peer is its verdict, not invalid HTTP/2 it sent.
    const protocol = !socket && !error.remote;
    // A socket failure is reported as the socket's own error (a TLS alert's code, say).
    const reported = socket && error.cause instanceof Error ? error.cause : error;
    this.gate.run(() => this.events.error(this, reported, socket ? 'socket' : 'session', protocol));
  }

  /** @internal a stream was lost with the connection: report why first. */
  streamLost(): void {
    const error = this.h2.closeError;
    if (error !== null) this.reportError(error);
  }

  /** @internal a stream of ours closed (or a waiting one gave up): its slot is free. */
  streamGone(): void {
    this.activeStreams--;
    this.openWaiting();
    if (this.activeStreams !== 0) return;
    if (!this.gate.busy) this.events.idle(this);
    else this.gate.run(() => this.idleNow());
  }

  private idleNow(): void {
    if (!this.gone && this.activeStreams === 0) this.events.idle(this);
  }

  /** @internal a waiting stream was cancelled before it left. */
  unqueue(stream: H2UpstreamStream): boolean {
    const i = this.waiting.indexOf(stream);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  /** Opens waiting streams while the peer's limit allows. */
  private openWaiting(): void {
    const waiting = this.waiting;
    while (waiting.length > 0 && this.h2.openRefusal() === null) {
      const stream = waiting.shift()!;
      const opened = this.h2.request(stream.headers!, false, STREAM_EVENTS);
      if (opened instanceof H2OpenRefusal) {
        stream.refuse(
          opened === H2OpenRefusal.HEADERS_TOO_LARGE
            ? new SwitchyardError(
                'SWY_ERR_HEADERS_TOO_LARGE',
                `the request's header list is larger than the backend's limit of ${this.maxHeaderListSize} octets`,
              )
            : undefined,
        );
        continue;
      }
      stream.attach(opened);
      stream.flushWaiting();
    }
  }

  /** Streams still waiting will never leave: refused, safe to send elsewhere. */
  private refuseWaiting(): void {
    const waiting = this.waiting.splice(0);
    for (const stream of waiting) stream.refuse(undefined);
  }
}

class H2UpstreamStream implements UpstreamStream, GatedEvent {
  h2: H2Stream | null = null;
  /** Request headers of a stream waiting for a slot. */
  headers: HeaderFields | null = null;
  paused = false;
  /** Response data held while paused: chunks of the socket's reads (views, not copies). */
  private held: Buffer[] | null = null;
  bufferedBytes = 0;
  private trailers: HeaderFields | null = null;
  private ended = false;
  private closeOutcome = -1;
  private closeCode = 0;
  private discarding = false;
  private finished = false;
  /** Request data and END_STREAM of a stream waiting for a slot. */
  private pendingWrites: Buffer[] | null = null;
  private pendingBytes = 0;
  private pendingEnd = false;
  private wantsDrain = false;
  private releasing = false;

  constructor(
    readonly connection: H2UpstreamConnection,
    readonly handler: UpstreamHandler,
  ) {}

  attach(stream: H2Stream): void {
    this.h2 = stream;
    stream.context = this;
    this.headers = null;
  }

  get open(): boolean {
    return this.h2 !== null && !this.h2.closed;
  }

  write(chunk: Buffer): boolean {
    const h2 = this.h2;
    if (h2 === null) {
      if (this.finished) return true;
      (this.pendingWrites ??= []).push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < QUEUED_HIGH_WATER_MARK) return true;
      this.wantsDrain = true;
      return false;
    }
    this.connection.gate.enter();
    const ok = h2.write(chunk, false);
    this.connection.gate.leave();
    return ok;
  }

  end(): void {
    const h2 = this.h2;
    if (h2 === null) {
      this.pendingEnd = true;
      return;
    }
    this.connection.gate.enter();
    h2.end();
    this.connection.gate.leave();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.held !== null || this.ended || this.closeOutcome >= 0) {
      process.nextTick(() => this.releaseHeld());
    }
  }

  cancel(): void {
    if (this.finished) return;
    const connection = this.connection;
    connection.gate.enter();
    const h2 = this.h2;
    if (h2 === null) {
      // Never sent: nothing to reset; it ends as refused.
      if (connection.unqueue(this)) this.refuse(undefined);
    } else {
      this.dropHeld();
      if (!h2.closed) h2.reset(CANCEL);
      // Closed while paused with data held: the close waits for nobody now.
      else if (this.closeOutcome >= 0) connection.gate.runEvent(this);
    }
    connection.gate.leave();
  }

  discard(): void {
    this.discarding = true;
    this.dropHeld();
    this.paused = false;
    if (this.ended || this.closeOutcome >= 0) process.nextTick(() => this.releaseHeld());
  }

  // ---- from the connection ----

  drained(): void {
    if (!this.connection.gate.busy) this.handler.onDrain(this);
    else this.connection.gate.run(() => this.handler.onDrain(this));
  }

  headersArrived(fields: HeaderFields, endStream: boolean): void {
    if (this.discarding) {
      if (endStream) this.ended = true;
      return;
    }
    this.handler.onHeaders(this, fields, endStream);
    if (endStream) this.endArrived();
  }

  dataArrived(buf: Buffer, start: number, end: number, endStream: boolean): void {
    const n = end - start;
    if (this.discarding) {
      if (n > 0) this.h2!.consume(n);
      if (endStream) this.ended = true;
      return;
    }
    if (n > 0) {
      const chunk = buf.subarray(start, end);
      if (this.paused || this.held !== null) {
        (this.held ??= []).push(chunk);
        this.bufferedBytes += n;
      } else {
        this.handler.onData(this, chunk);
        // Acknowledged as delivered: a caller that cannot pass it on pauses, and the peer's
        // window (1 MiB by default) then bounds what waits here.
        this.h2!.consume(n);
      }
    }
    if (endStream) this.endArrived();
  }

  trailersArrived(fields: HeaderFields): void {
    if (this.discarding) {
      this.ended = true;
      return;
    }
    if (this.held !== null) {
      this.trailers = fields;
      this.ended = true;
      return;
    }
    this.handler.onTrailers(this, fields);
    this.endArrived();
  }

  private endArrived(): void {
    if (this.held !== null) {
      this.ended = true;
      return;
    }
    this.ended = false;
    this.handler.onEnd(this);
  }

  closedBy(outcome: StreamOutcome, code: number): void {
    if (outcome === StreamOutcome.LOST) this.connection.streamLost();
    this.closeOutcome = outcome;
    this.closeCode = code;
    if (outcome !== StreamOutcome.COMPLETE) this.dropHeld();
    else if (this.held !== null) return; // delivered once the held data is
    this.connection.gate.runEvent(this);
  }

  /** GatedEvent: the close, delivered once the seam's own call that caused it has returned. */
  runGated(): void {
    this.finish();
  }

  /** A waiting stream that will never leave (or whose headers the peer cannot take). */
  refuse(error: Error | undefined): void {
    this.closeOutcome = StreamOutcome.REFUSED;
    this.pendingWrites = null;
    this.connection.gate.run(() => {
      if (this.finished) return;
      this.finished = true;
      this.connection.streamGone();
      this.handler.onClose(this, StreamOutcome.REFUSED, 0, error);
    });
  }

  /** Sends what was written while the stream waited for its slot. */
  flushWaiting(): void {
    const writes = this.pendingWrites;
    this.pendingWrites = null;
    this.pendingBytes = 0;
    const h2 = this.h2!;
    let ok = true;
    if (writes !== null) for (const chunk of writes) ok = h2.write(chunk, false);
    if (this.pendingEnd) h2.end();
    if (this.wantsDrain && ok) {
      this.wantsDrain = false;
      this.connection.gate.run(() => this.handler.onDrain(this));
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.connection.streamGone();
    this.handler.onClose(this, this.closeOutcome as StreamOutcome, this.closeCode, undefined);
  }

  private dropHeld(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    const n = this.bufferedBytes;
    this.bufferedBytes = 0;
    if (this.h2 !== null && !this.h2.closed) this.h2.consume(n);
    if (this.trailers !== null) this.trailers = null;
  }

  /** Delivers what waited while paused, in order, until paused again. */
  private releaseHeld(): void {
    if (this.releasing || this.finished) return;
    this.releasing = true;
    const held = this.held;
    while (held !== null && held.length > 0 && !this.paused && this.held === held) {
      const chunk = held.shift()!;
      this.bufferedBytes -= chunk.length;
      this.handler.onData(this, chunk);
      if (this.h2 !== null && !this.h2.closed) this.h2.consume(chunk.length);
    }
    if (held !== null && held.length === 0 && this.held === held) this.held = null;
    this.releasing = false;
    if (this.held !== null || (this.paused && !this.discarding)) return;
    if (this.ended) {
      this.ended = false;
      const trailers = this.trailers;
      this.trailers = null;
      if (trailers !== null && !this.discarding) this.handler.onTrailers(this, trailers);
      if (!this.discarding) this.handler.onEnd(this);
    }
    if (this.closeOutcome >= 0) this.finish();
  }
}
