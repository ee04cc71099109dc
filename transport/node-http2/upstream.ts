// The upstream transport over node:http2: a ClientHttp2Session per connection, a
// ClientHttp2Stream per stream, and what their fields and events mean in the seam's terms.
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { HeaderFields } from '../header-fields.js';
import {
  StreamOutcome,
  type UpstreamConnectOptions,
  type UpstreamConnection,
  type UpstreamConnectionEvents,
  type UpstreamHandler,
  type UpstreamStream,
  type UpstreamTransport,
} from '../upstream.js';
import { fieldsToHeaders } from './header-objects.js';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
const END_STREAM_FLAG = http2.constants.NGHTTP2_FLAG_END_STREAM;
const REQUEST_OPTIONS: http2.ClientSessionRequestOptions = { endStream: false };
/**
 * The default 10 MB caps what nghttp2 may hold for all streams of a session; a proxy
 * multiplexing many clients onto one session needs more before it refuses streams.
 */
const MAX_SESSION_MEMORY_MB = 64;

// Shared handlers (no per-connection or per-stream closures): sessions, sockets and streams
// carry their wrapper in a symbol slot.
const kWrapper = Symbol('switchyard.transport');
type TaggedSession = http2.ClientHttp2Session & { [kWrapper]: NodeHttp2Connection };
type TaggedSocket = Duplex & { [kWrapper]?: NodeHttp2Connection };
type TaggedStream = http2.ClientHttp2Stream & { [kWrapper]: NodeHttp2Stream };

export const nodeHttp2Transport: UpstreamTransport = {
  connect(socket, options, events) {
    return new NodeHttp2Connection(socket, options, events);
  },
};

class NodeHttp2Connection implements UpstreamConnection {
  activeStreams = 0;
  maxStreams = 100;
  maxHeaderListSize = Infinity;
  ready = false;
  private gone = false;
  readonly session: TaggedSession;

  constructor(
    readonly socket: Duplex,
    private readonly options: UpstreamConnectOptions,
    readonly events: UpstreamConnectionEvents,
  ) {
    const session = http2.connect(`${options.scheme}://${options.authority}`, {
      createConnection: () => socket,
      settings: { initialWindowSize: options.streamWindowBytes, ...options.settings },
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    }) as TaggedSession;
    this.session = session;
    session[kWrapper] = this;
    (socket as TaggedSocket)[kWrapper] = this;
    session.on('remoteSettings', onRemoteSettings);
    session.on('goaway', onGoaway);
    session.on('close', onSessionClose);
    session.on('error', onSessionError);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  get closing(): boolean {
    return this.session.closed || this.session.destroyed;
  }

  openStream(headers: HeaderFields, handler: UpstreamHandler): UpstreamStream | Error | null {
    const session = this.session;
    let stream: TaggedStream;
    try {
      stream = session.request(fieldsToHeaders(headers), REQUEST_OPTIONS) as TaggedStream;
    } catch (err) {
      // The session closed under us (GOAWAY or socket loss not yet seen): nothing was sent.
      if (session.closed || session.destroyed || isSessionError(err)) return null;
      // node:http2 refused these headers: the call's own fault, not the connection's.
      return err as Error;
    }
    this.activeStreams++;
    const wrapper = new NodeHttp2Stream(this, stream, handler);
    stream[kWrapper] = wrapper;
    stream.on('response', onStreamResponse);
    stream.on('data', onStreamData);
    stream.on('trailers', onStreamTrailers);
    stream.on('end', onStreamEnd);
    stream.on('close', onStreamClose);
    stream.on('error', onStreamError);
    return wrapper;
  }

  ping(onAck: () => void): boolean {
    const session = this.session;
    if (session.closed || session.destroyed) return false;
    try {
      return session.ping((err) => {
        if (err === null) onAck();
      });
    } catch {
      return false;
    }
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
    // node:http2 writes to the socket's native handle, below the stream's own buffer, so only
    // the handle knows what is still queued (net and tls sockets both keep this count).
    const handle = (this.socket as { _handle?: { writeQueueSize?: unknown } })._handle;
    const queued = handle?.writeQueueSize;
    return typeof queued !== 'number' || queued > 0;
  }

  close(): void {
    const session = this.session;
    if (!session.closed && !session.destroyed) session.close();
  }

  destroy(): void {
    this.session.destroy();
    this.socket.destroy();
  }

  /** @internal */
  settingsArrived(settings: http2.Settings): void {
    this.maxStreams = settings.maxConcurrentStreams ?? 4294967295;
    this.maxHeaderListSize = settings.maxHeaderListSize ?? Infinity;
    if (!this.ready) {
      this.ready = true;
      try {
        this.session.setLocalWindowSize(this.options.connectionWindowBytes);
      } catch {
        // The session is closing; 'close' follows.
      }
    }
    this.events.settings(this, this);
  }

  /** @internal */
  streamClosed(): void {
    if (--this.activeStreams === 0 && !this.gone) this.events.idle(this);
  }

  /** @internal */
  closed(): void {
    if (this.gone) return;
    this.gone = true;
    this.events.closed(this);
  }

  get maxConcurrentStreams(): number {
    return this.maxStreams;
  }
}

class NodeHttp2Stream implements UpstreamStream {
  error: Error | undefined = undefined;
  private drainWired = false;
  /** Reading on only to let the stream end: data goes nowhere. */
  discarding = false;

  constructor(
    readonly connection: NodeHttp2Connection,
    readonly stream: TaggedStream,
    readonly handler: UpstreamHandler,
  ) {}

  write(chunk: Buffer): boolean {
    if (this.stream.write(chunk)) return true;
    if (!this.drainWired) {
      this.drainWired = true;
      this.stream.on('drain', onStreamDrain);
    }
    return false;
  }

  end(): void {
    if (!this.stream.closed) this.stream.end();
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    if (this.stream.isPaused()) this.stream.resume();
  }

  get paused(): boolean {
    return this.stream.isPaused();
  }

  get bufferedBytes(): number {
    return this.stream.readableLength;
  }

  get open(): boolean {
    return !this.stream.closed && !this.stream.destroyed;
  }

  cancel(): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    if (stream.closed) {
      // The peer finished while nobody read: the unread answer sits in the paused stream, and
      // its 'close', which gives the connection its slot back, waits for it.
      stream.destroy();
      return;
    }
    stream.close(NGHTTP2_CANCEL);
  }

  discard(): void {
    this.discarding = true;
    this.stream.resume();
  }

  /** @internal how the stream ended, from what node:http2 left on it. */
  outcome(): StreamOutcome {
    const stream = this.stream;
    const rst = stream.rstCode ?? NGHTTP2_NO_ERROR;
    if (rst === NGHTTP2_REFUSED_STREAM || stream.id === undefined || stream.pending) {
      return StreamOutcome.REFUSED;
    }
    // A stream whose session died is closed by Node with INTERNAL_ERROR; a reset the peer
    // sent arrives while the session still lives.
    if (this.connection.session.destroyed) return StreamOutcome.LOST;
    if (rst === NGHTTP2_NO_ERROR && stream.readableEnded) return StreamOutcome.COMPLETE;
    return StreamOutcome.RESET;
  }
}

/** node:http2 errors from request() that mean the session, not the headers, is unusable. */
function isSessionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === 'ERR_HTTP2_INVALID_SESSION' ||
    code === 'ERR_HTTP2_GOAWAY_SESSION' ||
    code === 'ERR_HTTP2_OUT_OF_STREAMS'
  );
}

function onRemoteSettings(this: TaggedSession, settings: http2.Settings) {
  this[kWrapper].settingsArrived(settings);
}
function onGoaway(this: TaggedSession, code: number, _lastStreamId: number, data?: Buffer) {
  const c = this[kWrapper];
  c.events.goaway(c, code, data);
}
function onSessionClose(this: TaggedSession) {
  this[kWrapper].closed();
}
function onSessionError(this: TaggedSession, err: Error) {
  const c = this[kWrapper];
  c.events.error(c, err, 'session', isPeerProtocolError(err));
}
function onSocketError(this: TaggedSocket, err: Error) {
  // node:http2 does not always report these: a TLS alert read after the handshake (TLS 1.3
  // "certificate required") destroys the session without an 'error' or 'close' event.
  const c = this[kWrapper];
  if (c !== undefined) c.events.error(c, err, 'socket', isPeerProtocolError(err));
}
/**
 * nghttp2 found invalid HTTP/2 in what the peer sent. Node 22 and later report it (on the
 * socket first, then the session) and destroy the session; Node 20 goes quiet instead and a
 * liveness monitor finds it.
 */
function isPeerProtocolError(err: Error): boolean {
  return (err as NodeJS.ErrnoException).code === 'ERR_HTTP2_ERROR';
}
function onSocketClose(this: TaggedSocket) {
  this[kWrapper]?.closed();
}

function onStreamResponse(
  this: TaggedStream,
  _headers: http2.IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) {
  const s = this[kWrapper];
  s.handler.onHeaders(s, rawHeaders, (flags & END_STREAM_FLAG) !== 0);
}
function onStreamData(this: TaggedStream, chunk: Buffer) {
  const s = this[kWrapper];
  if (!s.discarding) s.handler.onData(s, chunk);
}
function onStreamTrailers(
  this: TaggedStream,
  _trailers: http2.IncomingHttpHeaders,
  _flags: number,
  rawTrailers: string[],
) {
  const s = this[kWrapper];
  s.handler.onTrailers(s, rawTrailers);
}
function onStreamEnd(this: TaggedStream) {
  const s = this[kWrapper];
  s.handler.onEnd(s);
}
function onStreamDrain(this: TaggedStream) {
  const s = this[kWrapper];
  s.handler.onDrain(s);
}
function onStreamError(this: TaggedStream, err: Error) {
  this[kWrapper].error = err;
}
function onStreamClose(this: TaggedStream) {
  const s = this[kWrapper];
  s.connection.streamClosed();
  s.handler.onClose(s, s.outcome(), this.rstCode ?? NGHTTP2_NO_ERROR, s.error);
}
