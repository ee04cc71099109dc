// An HTTP/2 connection endpoint (RFC 9113 §3–§8) over any Duplex socket, client or server: the
// stream state machine, SETTINGS, PING, GOAWAY, RST_STREAM, flow control by credit, header rules
// and flood limits, on top of the frame parser/writer and the HPACK codec.
import type { Duplex } from 'node:stream';
import {
  DEFAULT_INITIAL_WINDOW_SIZE,
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  type FrameHandler,
  FrameParser,
  FrameWriter,
  MAX_STREAM_ID,
  MAX_WINDOW_SIZE,
  type SettingEntry,
  SettingId,
} from '../frames/index.js';
import {
  ByteWriter,
  DEFAULT_TABLE_SIZE,
  HeaderList,
  HpackDecoder,
  HpackEncoder,
} from '../hpack/index.js';
import { type H2Clock, type H2TimerHandle, h2SystemClock } from './clock.js';
import type { H2ConnectionHandler } from './connection-handler.js';
import { ConnectionErrorReason, H2ConnectionError, H2OpenRefusal } from './errors.js';
import { checkHeaderList, type HeaderFacts, HeaderKind } from './header-rules.js';
import { DEFAULTS, H2Counters, type H2ConnectionOptions } from './options.js';
import {
  EMPTY_QUEUE,
  H2Stream,
  type H2StreamHandler,
  type StreamOwner,
  StreamOutcome,
} from './stream.js';
import { StreamTable } from './stream-table.js';
import { TokenBucket } from './token-bucket.js';

/** Streams we reset, remembered so frames the peer sent before seeing the reset are ignored (§5.1). */
const RESET_MEMORY = 1_024;
/** Until the peer's SETTINGS, assume it allows 100 streams (what node:http2 assumes too). */
const ASSUMED_PEER_STREAMS = 100;
const PING_PAYLOAD = Buffer.alloc(8);
/** SETTINGS_MAX_CONCURRENT_STREAMS's largest value, what a peer that sets none allows. */
const UNLIMITED_STREAMS = 0xffffffff;

interface PendingPing {
  readonly id: number;
  readonly sentAt: number;
  readonly onAck: (rttMs: number) => void;
}

/**
 * One HTTP/2 connection on `socket` (already connected; TLS done). The client preface (client
 * role) and our SETTINGS go out at once. Every handler call is synchronous from a socket event
 * or a timer of the injected clock.
 *
 * Receiving: DATA counts against our windows and is acknowledged only when the owner calls
 * `stream.consume(n)`. Sending: DATA beyond the peer's windows is queued per stream and sent
 * round robin, a frame's worth per stream per pass, as WINDOW_UPDATEs arrive and the socket
 * drains. Frames of a turn leave in one socket write (FrameWriter).
 */
export class H2Connection implements FrameHandler, StreamOwner {
  readonly isServer: boolean;
  readonly counters = new H2Counters();

  private readonly socket: Duplex;
  private readonly handler: H2ConnectionHandler;
  private readonly clock: H2Clock;
  private readonly parser: FrameParser;
  private readonly writer: FrameWriter;
  private readonly decoder: HpackDecoder;
  private readonly encoder = new HpackEncoder();
  private readonly encoded = new ByteWriter(1024);
  private readonly list = new HeaderList();
  private readonly facts: HeaderFacts = { contentLength: -1, status: 0, head: false };
  private readonly streams = new StreamTable<H2Stream>();

  // Local settings.
  private readonly streamWindow: number;
  private readonly maxConcurrentStreams: number;
  private readonly maxStreamId: number;
  private readonly highWaterMark: number;
  private readonly closeLingerMs: number;
  private readonly maxOutstandingPings: number;
  /** The stream window the peer assumes for new streams: 65,535 until our SETTINGS are acked. */
  private recvInitial = DEFAULT_INITIAL_WINDOW_SIZE;
  private recvWindow = DEFAULT_INITIAL_WINDOW_SIZE;
  private connectionCredit = 0;
  private readonly connectionThreshold: number;
  private readonly streamThreshold: number;

  // The peer's settings.
  private peerInitialWindow = DEFAULT_INITIAL_WINDOW_SIZE;
  private peerStreams = ASSUMED_PEER_STREAMS;
  private peerHeaderListSize = Infinity;
  private sendWindow = DEFAULT_INITIAL_WINDOW_SIZE;

  // Stream bookkeeping.
  private nextStreamId: number;
  private lastPeerStreamId = 0;
  private localActive = 0;
  private peerActive = 0;
  private readonly resetIds = new Set<number>();
  private readonly resetOrder: number[] = [];
  private readonly ready: H2Stream[] = [];
  private pumping = false;

  // Connection state.
  private handshakeDone = false;
  private settingsPending = 0;
  private handshakeTimer: H2TimerHandle | null = null;
  private settingsTimer: H2TimerHandle | null = null;
  private lingerTimer: H2TimerHandle | null = null;
  private goawaySent = false;
  private goawaySentLastId = MAX_STREAM_ID;
  private goawayReceived = false;
  private goawayReceivedLastId = MAX_STREAM_ID;
  private isClosed = false;
  private socketError: Error | null = null;
  /**
   * Why the connection ended, set before its streams close as LOST, so their handlers can tell
   * what took them down; null while open or after a clean close.
   */
  closeError: H2ConnectionError | null = null;
  private readonly pings: PendingPing[] = [];
  private pingSeq = 0;

  // Flood limits.
  private readonly resetBucket: TokenBucket;
  private readonly pingBucket: TokenBucket;
  private readonly settingsBucket: TokenBucket;
  private readonly emptyDataBucket: TokenBucket;
  private readonly controlBucket: TokenBucket;

  private readonly onSocketData = (chunk: Buffer): void => this.parser.push(chunk);
  /**
   * The peer ended its side: end ours and finish at 'close', which follows at once for a
   * socket that is not half-open. Not here: a TLS socket reports the alert that ended it (a
   * server that wanted a client certificate, say) on 'error' after 'end'. Destroyed after the
   * linger if 'close' does not come.
   */
  private readonly onSocketEnd = (): void => {
    const socket = this.socket;
    if (!socket.writableEnded) {
      this.writer.flush();
      socket.end();
    }
    this.lingerTimer ??= this.clock.setTimeout(() => socket.destroy(), this.closeLingerMs);
  };
  private readonly onSocketError = (err: Error): void => {
    this.socketError ??= err;
  };
  private readonly onSocketClose = (): void => this.socketGone(this.socketError);

  constructor(socket: Duplex, handler: H2ConnectionHandler, options: H2ConnectionOptions) {
    this.socket = socket;
    this.handler = handler;
    this.isServer = options.role === 'server';
    const clock = (this.clock = options.clock ?? h2SystemClock);
    this.streamWindow = options.streamWindow ?? DEFAULTS.streamWindow;
    const connectionWindow = options.connectionWindow ?? DEFAULTS.connectionWindow;
    checkWindow('streamWindow', this.streamWindow);
    checkWindow('connectionWindow', connectionWindow);
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? DEFAULTS.maxConcurrentStreams;
    this.maxStreamId = options.maxStreamId ?? MAX_STREAM_ID;
    this.highWaterMark = options.streamHighWaterMark ?? DEFAULTS.streamHighWaterMark;
    this.closeLingerMs = options.closeLingerMs ?? DEFAULTS.closeLingerMs;
    this.maxOutstandingPings = options.maxOutstandingPings ?? DEFAULTS.maxOutstandingPings;
    // WINDOW_UPDATE once half a window is consumed: one update per ~half window of DATA, and
    // the peer never waits on an update for less than half its window.
    this.streamThreshold = Math.max(1, this.streamWindow >>> 1);
    this.connectionThreshold = Math.max(1, connectionWindow >>> 1);
    this.nextStreamId = this.isServer ? 2 : 1;
    const maxHeaderListSize = options.maxHeaderListSize ?? DEFAULTS.maxHeaderListSize;
    const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.decoder = new HpackDecoder({ maxHeaderListSize });
    this.parser = new FrameParser(this, {
      role: options.role,
      maxFrameSize,
      maxHeaderBlockBytes: options.maxHeaderBlockBytes,
      maxContinuations: options.maxContinuations,
    });
    this.writer = new FrameWriter(socket, {
      flush: options.flush,
      onDrain: () => this.onWriterDrain(),
    });
    this.resetBucket = new TokenBucket(options.resetLimit ?? DEFAULTS.resetLimit, clock);
    this.pingBucket = new TokenBucket(options.pingLimit ?? DEFAULTS.pingLimit, clock);
    this.settingsBucket = new TokenBucket(options.settingsLimit ?? DEFAULTS.settingsLimit, clock);
    this.emptyDataBucket = new TokenBucket(
      options.emptyDataLimit ?? DEFAULTS.emptyDataLimit,
      clock,
    );
    this.controlBucket = new TokenBucket(options.controlLimit ?? DEFAULTS.controlLimit, clock);

    // Our preface: SETTINGS (after the client preface), and the connection window raised.
    const settings: SettingEntry[] = [
      [SettingId.MAX_CONCURRENT_STREAMS, this.maxConcurrentStreams],
      [SettingId.INITIAL_WINDOW_SIZE, this.streamWindow],
      [SettingId.MAX_HEADER_LIST_SIZE, maxHeaderListSize],
    ];
    if (!this.isServer) settings.unshift([SettingId.ENABLE_PUSH, 0]);
    if (maxFrameSize !== DEFAULT_MAX_FRAME_SIZE)
      settings.push([SettingId.MAX_FRAME_SIZE, maxFrameSize]);
    if (!this.isServer) this.writer.writePreface();
    this.writer.writeSettings(settings);
    this.settingsPending++;
    if (connectionWindow > DEFAULT_INITIAL_WINDOW_SIZE) {
      this.writer.writeWindowUpdate(0, connectionWindow - DEFAULT_INITIAL_WINDOW_SIZE);
      this.recvWindow = connectionWindow;
    }
    this.settingsTimer = clock.setTimeout(
      () => this.settingsTimedOut(),
      options.settingsTimeoutMs ?? DEFAULTS.settingsTimeoutMs,
    );
    this.handshakeTimer = clock.setTimeout(
      () => this.handshakeTimedOut(),
      options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
    );
    socket.on('data', this.onSocketData);
    socket.on('end', this.onSocketEnd);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
  }

  // ---- What the owner reads ----

  /** Streams open on this connection (either side's). */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS (100 until its SETTINGS arrive). */
  get peerMaxConcurrentStreams(): number {
    return this.peerStreams;
  }

  /** The peer's SETTINGS_MAX_HEADER_LIST_SIZE (Infinity when it sets none). */
  get peerMaxHeaderListSize(): number {
    return this.peerHeaderListSize;
  }

  /** Stream ids this side may still open (client role); a new connection is due at 0. */
  get streamIdsLeft(): number {
    return this.nextStreamId > this.maxStreamId
      ? 0
      : ((this.maxStreamId - this.nextStreamId) >>> 1) + 1;
  }

  /** GOAWAY sent or received, or gone: no new streams. */
  get closing(): boolean {
    return this.goawaySent || this.goawayReceived || this.isClosed;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** True while the socket holds octets it could not write yet. */
  get writePending(): boolean {
    return this.writer.needsDrain;
  }

  /** Why `request()` would refuse now, or null when it would open a stream. */
  openRefusal(): H2OpenRefusal | null {
    if (this.closing) return H2OpenRefusal.CLOSING;
    if (this.localActive >= this.peerStreams) return H2OpenRefusal.MAX_STREAMS;
    if (this.nextStreamId > this.maxStreamId) return H2OpenRefusal.IDS_EXHAUSTED;
    return null;
  }

  // ---- What the owner does ----

  /**
   * Client role: opens a stream with request headers (flat [name, value, …], pseudo-headers
   * first). Returns the stream, or why it could not be opened (a value, never thrown).
   */
  request(
    fields: readonly string[],
    endStream: boolean,
    handler: H2StreamHandler,
  ): H2Stream | H2OpenRefusal {
    const refusal = this.openRefusal();
    if (refusal !== null) return refusal;
    if (listSize(fields) > this.peerHeaderListSize) return H2OpenRefusal.HEADERS_TOO_LARGE;
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new H2Stream(id, this, handler, this.peerInitialWindow, this.recvInitial);
    this.streams.add(stream);
    this.localActive++;
    this.counters.streamsOpened++;
    this.writeBlock(id, fields, endStream);
    stream.headersSent = true;
    if (endStream) stream.localEnded = true;
    return stream;
  }

  /**
   * Sends a PING; `onAck` gets the round trip in ms. False when too many are outstanding or the
   * connection is closed.
   */
  ping(onAck: (rttMs: number) => void): boolean {
    if (this.isClosed || this.pings.length >= this.maxOutstandingPings) return false;
    const id = ++this.pingSeq;
    PING_PAYLOAD.writeUInt32BE(0, 0);
    PING_PAYLOAD.writeUInt32BE(id >>> 0, 4);
    this.writer.writePing(false, PING_PAYLOAD);
    this.pings.push({ id, sentAt: this.clock.now(), onAck });
    return true;
  }

  /**
   * Graceful close: GOAWAY with the last peer stream we took (`code` default NO_ERROR); streams
   * already open finish, later ones are ignored (the peer retries them elsewhere); the socket
   * ends when the last stream closes.
   */
  close(code: number = ErrorCode.NO_ERROR): void {
    if (this.isClosed) return;
    if (!this.goawaySent) {
      this.goawaySent = true;
      this.goawaySentLastId = this.lastPeerStreamId;
      this.writer.writeGoaway(this.lastPeerStreamId, code);
    }
    this.maybeFinish();
  }

  /** Closes now: open streams end as LOST, the socket is destroyed. */
  destroy(): void {
    if (this.isClosed) return;
    this.terminate(null, true);
  }

  // ---- StreamOwner ----

  streamSendHeaders(stream: H2Stream, fields: readonly string[], endStream: boolean): boolean {
    if (stream.closed || stream.localEnded || stream.trailers !== null || this.isClosed)
      return false;
    if (stream.headersSent && !endStream) return false; // trailers must end the stream (§8.1)
    if (listSize(fields) > this.peerHeaderListSize) return false;
    if (stream.queuedBytes > 0) {
      // Trailers wait behind queued DATA; they are encoded when sent, to keep HPACK in order.
      stream.trailers = fields;
      stream.endQueued = true;
      return true;
    }
    this.writeBlock(stream.id, fields, endStream);
    stream.headersSent = true;
    if (endStream) this.endLocal(stream);
    return true;
  }

  streamWrite(stream: H2Stream, data: Buffer, endStream: boolean): boolean {
    if (stream.closed || stream.localEnded || stream.endQueued || this.isClosed) return false;
    if (!stream.headersSent) return false; // DATA before HEADERS is malformed (§8.1)
    let at = 0;
    const length = data.length;
    if (stream.queuedBytes === 0 && !this.writer.needsDrain) {
      const n = Math.min(length, stream.sendWindow, this.sendWindow);
      if (n === length) {
        // The fast path: all of it fits the windows, END_STREAM on its last frame.
        this.writer.writeData(stream.id, data, endStream);
        stream.sendWindow -= n;
        this.sendWindow -= n;
        if (endStream) this.endLocal(stream);
        return this.checkSocket(stream);
      }
      if (n > 0) {
        this.writer.writeDataRange(stream.id, data, 0, n, false);
        stream.sendWindow -= n;
        this.sendWindow -= n;
        at = n;
      }
    }
    if (at < length) {
      if (stream.queue.length === 0) stream.queue = [];
      stream.queue.push(at === 0 ? data : data.subarray(at));
      stream.queuedBytes += length - at;
    }
    if (endStream) stream.endQueued = true;
    if (stream.queuedBytes === 0) {
      // Nothing left but END_STREAM (an empty write while the socket is full).
      stream.endQueued = false;
      this.writer.writeData(stream.id, data.subarray(0, 0), true);
      this.endLocal(stream);
      return !this.writer.needsDrain;
    }
    this.makeReady(stream);
    if (stream.queuedBytes >= this.highWaterMark || this.writer.needsDrain) {
      stream.wantsDrain = true;
      return false;
    }
    return true;
  }

  streamConsume(stream: H2Stream, n: number): void {
    if (n > stream.unconsumed) n = stream.unconsumed;
    if (n <= 0 || this.isClosed) return;
    stream.unconsumed -= n;
    this.creditConnection(n);
    if (stream.remoteEnded || stream.closed) return;
    stream.credit += n;
    if (stream.credit >= this.streamThreshold) {
      this.writer.writeWindowUpdate(stream.id, stream.credit);
      stream.recvWindow += stream.credit;
      stream.credit = 0;
    }
  }

  streamReset(stream: H2Stream, code: number): void {
    if (stream.closed || this.isClosed) return;
    this.resetStream(stream, code);
  }

  // ---- FrameHandler ----

  onData(
    streamId: number,
    buf: Buffer,
    start: number,
    end: number,
    endStream: boolean,
    flowControlledLength: number,
  ): void {
    this.recvWindow -= flowControlledLength;
    if (this.recvWindow < 0) {
      this.fail(
        ErrorCode.FLOW_CONTROL_ERROR,
        ConnectionErrorReason.FLOW_CONTROL,
        'DATA beyond the connection window',
      );
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      this.creditConnection(flowControlledLength);
      this.frameOnMissingStream(streamId, 'DATA');
      return;
    }
    if (!stream.headersReceived || stream.remoteEnded) {
      this.creditConnection(flowControlledLength);
      this.resetStream(
        stream,
        stream.remoteEnded ? ErrorCode.STREAM_CLOSED : ErrorCode.PROTOCOL_ERROR,
      );
      return;
    }
    stream.recvWindow -= flowControlledLength;
    if (stream.recvWindow < 0) {
      this.creditConnection(flowControlledLength);
      this.resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    const length = end - start;
    if (length !== flowControlledLength) {
      // Padding is nobody's to consume: return it at once.
      const padding = flowControlledLength - length;
      this.creditConnection(padding);
      stream.credit += padding;
    }
    if (length === 0 && !endStream) {
      this.counters.emptyDataFrames++;
      if (
        this.spent(
          this.emptyDataBucket,
          ConnectionErrorReason.EMPTY_DATA_FLOOD,
          'too many empty DATA frames',
        )
      ) {
        return;
      }
    }
    stream.received += length;
    if (
      stream.contentLength >= 0 &&
      (stream.received > stream.contentLength ||
        (endStream && stream.received !== stream.contentLength))
    ) {
      this.creditConnection(length);
      this.counters.malformed++;
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    stream.unconsumed += length;
    if (endStream) stream.remoteEnded = true;
    stream.handler.onData(stream, buf, start, end, endStream);
    if (endStream) this.maybeCloseStream(stream);
  }

  onHeaders(streamId: number, buf: Buffer, start: number, end: number, endStream: boolean): void {
    const list = this.list;
    const error = this.decoder.decode(buf, start, end, list);
    if (error !== null && error.connectionError) {
      this.fail(ErrorCode.COMPRESSION_ERROR, ConnectionErrorReason.COMPRESSION, error.message);
      return;
    }
    const tooLarge = error !== null;
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (this.isServer) this.openPeerStream(streamId, endStream, tooLarge);
      else this.frameOnMissingStream(streamId, 'HEADERS');
      return;
    }
    if (stream.remoteEnded) {
      this.resetStream(stream, ErrorCode.STREAM_CLOSED);
      return;
    }
    if (tooLarge) {
      this.counters.malformed++;
      this.resetStream(stream, ErrorCode.ENHANCE_YOUR_CALM);
      return;
    }
    const facts = this.facts;
    if (!stream.headersReceived) {
      // A client's response headers: 1xx ones first, maybe, then the final ones.
      if (
        checkHeaderList(list, HeaderKind.RESPONSE, facts) !== null ||
        (facts.status < 200 && endStream) ||
        facts.status === 101
      ) {
        this.counters.malformed++;
        this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      if (facts.status < 200) return;
      stream.headersReceived = true;
      // 204 and 304 carry a content-length that is not their body's (RFC 9110 §8.6).
      stream.contentLength =
        facts.status === 204 || facts.status === 304 ? -1 : facts.contentLength;
      if (endStream) {
        if (stream.contentLength > 0) {
          this.counters.malformed++;
          this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
          return;
        }
        stream.remoteEnded = true;
      }
      stream.handler.onHeaders(stream, list, endStream);
      if (endStream) this.maybeCloseStream(stream);
      return;
    }
    // Trailers: they must end the stream (§8.1) and carry no pseudo-headers.
    if (
      !endStream ||
      checkHeaderList(list, HeaderKind.TRAILERS, facts) !== null ||
      (stream.contentLength >= 0 && stream.received !== stream.contentLength)
    ) {
      this.counters.malformed++;
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    stream.remoteEnded = true;
    stream.handler.onTrailers(stream, list);
    this.maybeCloseStream(stream);
  }

  onPriority(): void {
    this.spent(this.controlBucket, ConnectionErrorReason.CONTROL_FLOOD, 'too many PRIORITY frames');
  }

  onRstStream(streamId: number, code: number): void {
    const counters = this.counters;
    counters.resetsReceived++;
    // The budget is the server's defence (CVE-2023-44487); a client takes a backend's resets
    // (REFUSED_STREAM under load, say) at any rate. Past it, only a peer that reset at least
    // three in four of the streams it opened is cut off: an attack resets nearly all of them;
    // a client that cancels a lot and lets deadlines expire resets half or so (a soak that
    // cancels 3 calls in 8, with 1 in 8 past its deadline, was cut off at one half), and each
    // stream it lets run holds a slot until it ends.
    if (
      this.isServer &&
      !this.resetBucket.take() &&
      4 * counters.resetsReceived >= 3 * counters.streamsOpened
    ) {
      this.fail(
        ErrorCode.ENHANCE_YOUR_CALM,
        ConnectionErrorReason.RAPID_RESET,
        'too many streams reset',
      );
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (this.isIdle(streamId)) {
        this.fail(
          ErrorCode.PROTOCOL_ERROR,
          ConnectionErrorReason.IDLE_STREAM,
          `RST_STREAM on idle stream ${streamId}`,
        );
      }
      return; // closed: the peer's reset crossed our END_STREAM or reset
    }
    stream.localEnded = true;
    this.closeStream(
      stream,
      code === ErrorCode.REFUSED_STREAM ? StreamOutcome.REFUSED : StreamOutcome.RESET,
      code,
    );
  }

  onSettings(ack: boolean, entries: Uint32Array, count: number): void {
    if (ack) {
      if (this.settingsPending === 0) return;
      if (--this.settingsPending === 0 && this.settingsTimer !== null) {
        this.clock.clearTimeout(this.settingsTimer);
        this.settingsTimer = null;
      }
      // Our SETTINGS_INITIAL_WINDOW_SIZE now holds for the peer: move open streams by the
      // difference (§6.9.2), as the peer does on its side.
      const delta = this.streamWindow - this.recvInitial;
      if (delta !== 0) {
        this.recvInitial = this.streamWindow;
        for (const stream of this.streams.list()) stream.recvWindow += delta;
      }
      return;
    }
    this.counters.settingsReceived++;
    if (
      this.handshakeDone &&
      this.spent(
        this.settingsBucket,
        ConnectionErrorReason.SETTINGS_FLOOD,
        'too many SETTINGS frames',
      )
    ) {
      return;
    }
    let windowGrew = false;
    // A peer's first SETTINGS without a stream limit means none (§6.5.2): until then we assume 100.
    if (!this.handshakeDone) this.peerStreams = UNLIMITED_STREAMS;
    for (let i = 0; i < count; i++) {
      const id = entries[2 * i];
      const value = entries[2 * i + 1];
      switch (id) {
        case SettingId.HEADER_TABLE_SIZE:
          this.encoder.setPeerMaxTableSize(Math.min(value, DEFAULT_TABLE_SIZE));
          break;
        case SettingId.MAX_CONCURRENT_STREAMS:
          this.peerStreams = value;
          break;
        case SettingId.INITIAL_WINDOW_SIZE: {
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          if (delta === 0) break;
          for (const stream of this.streams.list()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW_SIZE) {
              this.fail(
                ErrorCode.FLOW_CONTROL_ERROR,
                ConnectionErrorReason.FLOW_CONTROL,
                `SETTINGS_INITIAL_WINDOW_SIZE ${value} takes stream ${stream.id} past 2^31-1`,
              );
              return;
            }
            if (delta > 0 && stream.queuedBytes > 0) this.makeReady(stream);
          }
          windowGrew = delta > 0;
          break;
        }
        case SettingId.MAX_FRAME_SIZE:
          this.writer.setMaxFrameSize(value);
          break;
        case SettingId.MAX_HEADER_LIST_SIZE:
          this.peerHeaderListSize = value;
          break;
      }
    }
    this.writer.writeSettingsAck();
    if (!this.handshakeDone) {
      this.handshakeDone = true;
      if (this.handshakeTimer !== null) {
        this.clock.clearTimeout(this.handshakeTimer);
        this.handshakeTimer = null;
      }
    }
    if (windowGrew) this.pump();
    if (!this.isClosed) this.handler.onSettings();
  }

  onPushPromise(): void {
    // We announce SETTINGS_ENABLE_PUSH = 0 as a client (§6.6, §8.4).
    this.fail(
      ErrorCode.PROTOCOL_ERROR,
      ConnectionErrorReason.PUSH_DISABLED,
      'PUSH_PROMISE with push disabled',
    );
  }

  onPing(ack: boolean, buf: Buffer, start: number): void {
    if (ack) {
      const id = buf.readUInt32BE(start + 4);
      const pings = this.pings;
      for (let i = 0; i < pings.length; i++) {
        if (pings[i].id === id) {
          const ping = pings[i];
          pings.splice(i, 1);
          ping.onAck(this.clock.now() - ping.sentAt);
          return;
        }
      }
      return;
    }
    this.counters.pingsReceived++;
    if (this.spent(this.pingBucket, ConnectionErrorReason.PING_FLOOD, 'too many PING frames')) {
      return;
    }
    this.writer.writePing(true, buf, start);
  }

  onGoaway(lastStreamId: number, code: number, buf: Buffer, start: number, end: number): void {
    this.goawayReceived = true;
    if (lastStreamId < this.goawayReceivedLastId) this.goawayReceivedLastId = lastStreamId;
    // Our streams above its last stream id were never processed (§6.8): refused, to retry.
    const refused: H2Stream[] = [];
    for (const stream of this.streams.list()) {
      if (stream.id > lastStreamId && this.isOwn(stream.id)) refused.push(stream);
    }
    for (const stream of refused) {
      stream.localEnded = true;
      this.closeStream(stream, StreamOutcome.REFUSED, 0);
    }
    if (this.isClosed) return;
    this.handler.onGoaway(lastStreamId, code, buf.subarray(start, end));
    if (code !== ErrorCode.NO_ERROR) {
      this.terminate(
        new H2ConnectionError(
          code,
          'goaway',
          `GOAWAY from the peer, last stream ${lastStreamId}`,
          true,
        ),
        false,
      );
      return;
    }
    this.maybeFinish();
  }

  onWindowUpdate(streamId: number, increment: number): void {
    if (streamId === 0) {
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW_SIZE) {
        this.fail(
          ErrorCode.FLOW_CONTROL_ERROR,
          ConnectionErrorReason.FLOW_CONTROL,
          'the connection window passes 2^31-1',
        );
        return;
      }
      this.pump();
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (this.isIdle(streamId)) {
        this.fail(
          ErrorCode.PROTOCOL_ERROR,
          ConnectionErrorReason.IDLE_STREAM,
          `WINDOW_UPDATE on idle stream ${streamId}`,
        );
      }
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_SIZE) {
      this.resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    if (stream.queuedBytes > 0) {
      this.makeReady(stream);
      this.pump();
    }
  }

  onUnknownFrame(): void {
    this.spent(
      this.controlBucket,
      ConnectionErrorReason.CONTROL_FLOOD,
      'too many frames of unknown types',
    );
  }

  onStreamError(streamId: number, code: number): void {
    const stream = this.streams.get(streamId);
    if (stream !== undefined) this.resetStream(stream, code);
    else if (!this.isIdle(streamId)) return;
    else {
      this.rememberReset(streamId);
      this.writer.writeRstStream(streamId, code);
      this.counters.resetsSent++;
    }
  }

  onConnectionError(code: number, reason: string, message: string): void {
    this.fail(code, reason, message);
  }

  // ---- Streams ----

  /** Server role: HEADERS for a stream id not open. */
  private openPeerStream(id: number, endStream: boolean, tooLarge: boolean): void {
    if ((id & 1) === 0) {
      this.fail(
        ErrorCode.PROTOCOL_ERROR,
        ConnectionErrorReason.BAD_STREAM_ID,
        `a client opened even stream ${id}`,
      );
      return;
    }
    if (id <= this.lastPeerStreamId) {
      this.frameOnMissingStream(id, 'HEADERS');
      return;
    }
    this.lastPeerStreamId = id;
    if (this.goawaySent || this.isClosed) return; // above our GOAWAY's last stream: ignored (§6.8)
    if (tooLarge || this.peerActive >= this.maxConcurrentStreams) {
      if (tooLarge) this.counters.malformed++;
      else this.counters.streamsRefused++;
      this.rememberReset(id);
      this.writer.writeRstStream(
        id,
        tooLarge ? ErrorCode.ENHANCE_YOUR_CALM : ErrorCode.REFUSED_STREAM,
      );
      this.counters.resetsSent++;
      // Refused streams spend the reset budget too: opening streams over the limit as fast as
      // they are refused is rapid reset by other means. Past the budget, the same ratio as for
      // resets decides.
      const counters = this.counters;
      if (
        !this.resetBucket.take() &&
        4 * (counters.resetsReceived + counters.streamsRefused) >=
          3 * (counters.streamsOpened + counters.streamsRefused)
      ) {
        this.fail(
          ErrorCode.ENHANCE_YOUR_CALM,
          ConnectionErrorReason.RAPID_RESET,
          'too many streams refused',
        );
      }
      return;
    }
    const facts = this.facts;
    if (
      checkHeaderList(this.list, HeaderKind.REQUEST, facts) !== null ||
      (endStream && facts.contentLength > 0)
    ) {
      this.counters.malformed++;
      this.rememberReset(id);
      this.writer.writeRstStream(id, ErrorCode.PROTOCOL_ERROR);
      this.counters.resetsSent++;
      return;
    }
    const stream = new H2Stream(id, this, NO_HANDLER, this.peerInitialWindow, this.recvInitial);
    stream.headersReceived = true;
    stream.contentLength = facts.contentLength;
    stream.remoteEnded = endStream;
    this.streams.add(stream);
    this.peerActive++;
    this.counters.streamsOpened++;
    stream.handler = this.handler.onStream(stream, this.list, endStream);
  }

  /** DATA or HEADERS for a stream not in the map: idle, ignored, or closed (§5.1). */
  private frameOnMissingStream(id: number, what: string): void {
    if (this.isIdle(id)) {
      this.fail(
        ErrorCode.PROTOCOL_ERROR,
        ConnectionErrorReason.IDLE_STREAM,
        `${what} on idle stream ${id}`,
      );
      return;
    }
    if (this.resetIds.has(id)) return; // we reset it; the peer had not seen that yet
    if (this.goawaySent && id > this.goawaySentLastId && !this.isOwn(id)) return;
    if (!this.isOwn(id) && !this.isServer) {
      this.fail(
        ErrorCode.PROTOCOL_ERROR,
        ConnectionErrorReason.BAD_STREAM_ID,
        `${what} on stream ${id}, which the server cannot open`,
      );
      return;
    }
    this.fail(
      ErrorCode.STREAM_CLOSED,
      ConnectionErrorReason.CLOSED_STREAM,
      `${what} on closed stream ${id}`,
    );
  }

  /** Whether a stream id was never used: above the last one either side opened (§5.1.1). */
  private isIdle(id: number): boolean {
    return this.isOwn(id) ? id >= this.nextStreamId : id > this.lastPeerStreamId;
  }

  private isOwn(id: number): boolean {
    return (id & 1) === (this.isServer ? 0 : 1);
  }

  private endLocal(stream: H2Stream): void {
    stream.localEnded = true;
    this.maybeCloseStream(stream);
  }

  private maybeCloseStream(stream: H2Stream): void {
    if (stream.localEnded && stream.remoteEnded && !stream.closed) {
      this.closeStream(stream, StreamOutcome.COMPLETE, 0);
    }
  }

  private resetStream(stream: H2Stream, code: number): void {
    this.writer.writeRstStream(stream.id, code);
    this.counters.resetsSent++;
    this.rememberReset(stream.id);
    stream.localEnded = true;
    this.closeStream(stream, StreamOutcome.RESET, code);
  }

  private rememberReset(id: number): void {
    this.resetIds.add(id);
    this.resetOrder.push(id);
    if (this.resetOrder.length > RESET_MEMORY) this.resetIds.delete(this.resetOrder.shift()!);
  }

  private closeStream(stream: H2Stream, outcome: StreamOutcome, code: number): void {
    stream.closed = true;
    this.streams.delete(stream.id);
    if (this.isOwn(stream.id)) this.localActive--;
    else this.peerActive--;
    // DATA delivered and never consumed still counts against the connection window: return it.
    if (stream.unconsumed > 0 && !this.isClosed) {
      const n = stream.unconsumed;
      stream.unconsumed = 0;
      this.creditConnection(n);
    }
    stream.queue = EMPTY_QUEUE;
    stream.queuedBytes = 0;
    stream.trailers = null;
    stream.handler.onClose(stream, outcome, code);
    this.maybeFinish();
  }

  // ---- Flow control ----

  private creditConnection(n: number): void {
    this.connectionCredit += n;
    if (this.connectionCredit >= this.connectionThreshold && !this.isClosed) {
      this.writer.writeWindowUpdate(0, this.connectionCredit);
      this.recvWindow += this.connectionCredit;
      this.connectionCredit = 0;
    }
  }

  private makeReady(stream: H2Stream): void {
    if (!stream.ready && stream.sendWindow > 0) {
      stream.ready = true;
      this.ready.push(stream);
    }
  }

  /**
   * Sends queued DATA while the connection window and the socket allow: a frame's worth per
   * stream per pass, so many streams sharing one connection window take turns (no stream waits
   * behind another's whole body).
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const ready = this.ready;
    const quantum = this.writer.maxFrameSize;
    while (ready.length > 0 && this.sendWindow > 0 && !this.writer.needsDrain && !this.isClosed) {
      const stream = ready.shift()!;
      stream.ready = false;
      if (stream.closed || stream.queuedBytes === 0) continue;
      this.sendQueued(stream, Math.min(quantum, stream.sendWindow, this.sendWindow));
      if (this.writer.pendingBytes >= this.highWaterMark) this.writer.flush();
      if (stream.closed) continue;
      if (stream.queuedBytes > 0) this.makeReady(stream);
      if (stream.wantsDrain && stream.queuedBytes < this.highWaterMark && !this.writer.needsDrain) {
        stream.wantsDrain = false;
        stream.handler.onDrain(stream);
      }
    }
    this.pumping = false;
  }

  /** Sends up to `budget` octets of a stream's queue; the last frame carries END_STREAM when due. */
  private sendQueued(stream: H2Stream, budget: number): void {
    const queue = stream.queue;
    while (budget > 0 && stream.queuedBytes > 0) {
      const chunk = queue[stream.head];
      const available = chunk.length - stream.offset;
      const n = Math.min(available, budget);
      const whole = n === available;
      const last = whole && stream.head === queue.length - 1;
      const endStream = last && stream.endQueued && stream.trailers === null;
      this.writer.writeDataRange(stream.id, chunk, stream.offset, stream.offset + n, endStream);
      stream.sendWindow -= n;
      this.sendWindow -= n;
      stream.queuedBytes -= n;
      budget -= n;
      if (whole) {
        queue[stream.head++] = EMPTY;
        stream.offset = 0;
      } else {
        stream.offset += n;
      }
    }
    if (stream.queuedBytes > 0) return;
    stream.queue = EMPTY_QUEUE;
    stream.head = 0;
    stream.offset = 0;
    if (!stream.endQueued) return;
    stream.endQueued = false;
    const trailers = stream.trailers;
    if (trailers !== null) {
      stream.trailers = null;
      this.writeBlock(stream.id, trailers, true);
    }
    this.endLocal(stream);
  }

  /**
   * After DATA went to the writer: a turn that gathered a high-water mark's worth is flushed at
   * once, so the socket's backpressure is known now rather than after megabytes more (a 4 KiB
   * slab of frame headers alone would reference ~7 MiB of 16 KiB frames). False, and an
   * `onDrain` owed, when the socket is full.
   */
  private checkSocket(stream: H2Stream): boolean {
    if (this.writer.pendingBytes >= this.highWaterMark) this.writer.flush();
    if (!this.writer.needsDrain || stream.localEnded) return true;
    stream.wantsDrain = true;
    return false;
  }

  private onWriterDrain(): void {
    this.pump();
    for (const stream of this.streams.list()) {
      if (stream.wantsDrain && stream.queuedBytes < this.highWaterMark && !this.writer.needsDrain) {
        stream.wantsDrain = false;
        stream.handler.onDrain(stream);
      }
    }
  }

  private writeBlock(id: number, fields: readonly string[], endStream: boolean): void {
    const out = this.encoded;
    out.reset();
    this.encoder.encode(fields, out);
    this.writer.writeHeaderBlock(id, out.buf, out.pos, endStream);
  }

  // ---- Ending ----

  private maybeFinish(): void {
    if (this.isClosed || this.streams.size !== 0) return;
    if (this.goawaySent || this.goawayReceived) this.terminate(null, false);
  }

  private handshakeTimedOut(): void {
    this.handshakeTimer = null;
    if (!this.handshakeDone) {
      this.fail(
        ErrorCode.PROTOCOL_ERROR,
        ConnectionErrorReason.HANDSHAKE_TIMEOUT,
        'no preface and SETTINGS from the peer in time',
      );
    }
  }

  private settingsTimedOut(): void {
    this.settingsTimer = null;
    if (this.settingsPending > 0) {
      this.fail(
        ErrorCode.SETTINGS_TIMEOUT,
        ConnectionErrorReason.SETTINGS_TIMEOUT,
        'our SETTINGS were not acknowledged in time',
      );
    }
  }

  /**
   * Takes a token from one of the flood limits; when it is spent the peer is generating
   * excessive load and the connection ends with GOAWAY(ENHANCE_YOUR_CALM). True then.
   */
  private spent(bucket: TokenBucket, reason: string, what: string): boolean {
    if (bucket.take()) return false;
    this.fail(ErrorCode.ENHANCE_YOUR_CALM, reason, what);
    return true;
  }

  /** A connection error (§5.4.1): GOAWAY with `code`, then the socket ends. */
  private fail(code: number, reason: string, message: string): void {
    if (this.isClosed) return;
    this.counters.errorCode = code;
    this.counters.errorReason = reason;
    this.parser.stop();
    this.writer.writeGoaway(this.lastPeerStreamId, code, Buffer.from(reason, 'latin1'));
    this.terminate(new H2ConnectionError(code, reason, message), false);
  }

  /**
   * Ends the connection: open streams close as LOST, the gathered frames go out, and the socket
   * ends (destroyed after the linger, or at once with `now`).
   */
  private terminate(error: H2ConnectionError | null, now: boolean): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeError = error;
    this.parser.stop();
    for (const timer of [this.handshakeTimer, this.settingsTimer]) {
      if (timer !== null) this.clock.clearTimeout(timer);
    }
    this.handshakeTimer = this.settingsTimer = null;
    const streams = this.streams.list();
    for (const stream of streams) {
      stream.localEnded = true;
      this.closeStream(stream, StreamOutcome.LOST, 0);
    }
    this.pings.length = 0;
    const socket = this.socket;
    if (now) {
      this.writer.close();
      socket.destroy();
    } else {
      this.writer.flush();
      this.writer.close();
      socket.end();
      this.lingerTimer ??= this.clock.setTimeout(() => socket.destroy(), this.closeLingerMs);
    }
    this.handler.onClose(error);
  }

  private socketGone(error: Error | null): void {
    if (this.lingerTimer !== null && this.socket.destroyed) {
      this.clock.clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (this.isClosed) {
      if (!this.socket.destroyed && this.socket.writableEnded) this.socket.destroy();
      return;
    }
    const clean =
      error === null && (this.goawayReceived || this.goawaySent) && this.streams.size === 0;
    this.terminate(
      clean
        ? null
        : new H2ConnectionError(
            ErrorCode.INTERNAL_ERROR,
            ConnectionErrorReason.SOCKET,
            error?.message ?? 'the socket closed',
            true,
            error ?? undefined,
          ),
      true,
    );
  }
}

const EMPTY = Buffer.alloc(0);

/** A handler for the moment between a stream's creation and onStream's answer. */
const NO_HANDLER: H2StreamHandler = {
  onHeaders() {},
  onData() {},
  onTrailers() {},
  onDrain() {},
  onClose() {},
};

/** SETTINGS_MAX_HEADER_LIST_SIZE's measure of a flat field list (§6.5.2). */
function listSize(fields: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < fields.length; i += 2) size += fields[i].length + fields[i + 1].length + 32;
  return size;
}

function checkWindow(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_WINDOW_SIZE) {
    throw new RangeError(`${name} must be an integer from 1 to 2^31 - 1, got ${value}`);
  }
}
