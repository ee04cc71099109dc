// One proxied gRPC call, on the client's side: wires the client's node:http2 stream to the
// call's upstream half (upstream-call.ts), with backpressure both ways, and answers the client
// with the upstream's headers, data and trailers or a status that says what went wrong.
// Frames pass through undecoded.
import http2 from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http2';
import {
  connectionOf,
  type BlockedStream,
  type ClientConnection,
  type ConnectionCall,
  type StreamResetReason,
} from './client-connection.js';
import { Status, encodeGrpcMessage } from '../grpc/grpc-status.js';
import type { HeaderFields } from '../transport/header-fields.js';
import {
  verifiedPeerIdentity,
  type PeerCertificateSource,
  type PeerIdentity,
} from '../common/peer-identity.js';
import { fieldsToHeaders } from '../transport/node-http2/header-objects.js';
import { UpstreamCall, statusTrailers, type UpstreamCallContext } from './upstream-call.js';
import type { CallObserver, CallRecord } from './call-record.js';

export type { CallObserver, CallRecord } from './call-record.js';

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** Everything a call needs from the proxy that is the same for every call of a route. */
export interface CallContext extends UpstreamCallContext {
  /** The route that matched, for metrics and logs. */
  readonly routeName: string;
  readonly observer: CallObserver;
}

const kCall = Symbol('switchyard.call');
type Downstream = http2.ServerHttp2Stream & { [kCall]?: ProxyCall };

const TRAILERS_ONLY_OPTIONS = { endStream: true } as const;
const RESPOND_OPTIONS = { waitForTrailers: true } as const;

export class ProxyCall extends UpstreamCall implements BlockedStream, ConnectionCall, CallRecord {
  /** 'drain' listeners are wired on the first backpressure, not for every call. */
  private downstreamDrainWired = false;
  /** The client connection, which resets streams whose client is too far behind. */
  private readonly connection: ClientConnection | undefined;
  /** Whether the client is behind (its connection watches the call meanwhile). */
  private blocked = false;
  /** BlockedStream fields, kept by the connection. */
  progressAt = 0;
  lastUnsent = -1;
  /** ConnectionCall: neighbours on the connection's list of calls. */
  prevCall: ConnectionCall | null = null;
  nextCall: ConnectionCall | null = null;

  constructor(
    readonly downstream: Downstream,
    /** The client's request headers as parsed, for picking and routing. */
    headers: IncomingHttpHeaders,
    /** The client's request header fields; edited in place into the upstream request. */
    fields: HeaderFields,
    path: string,
    readonly context: CallContext,
    /** Milliseconds until the deadline, or undefined for none. */
    timeoutMs: number | undefined,
    /** The request headers' size as a peer's SETTINGS_MAX_HEADER_LIST_SIZE counts it. */
    headerBytes: number,
  ) {
    super(headers, fields, path, context, timeoutMs, headerBytes);
    downstream[kCall] = this;
    this.connection = connectionOf(downstream.session);
    this.connection?.addCall(this);
    downstream.on('close', onDownstreamClose);
    downstream.on('error', onDownstreamError);
    downstream.on('wantTrailers', onWantTrailers);
  }

  start(): void {
    this.context.observer.callStarted(this);
    this.begin();
  }

  /** CallRecord: the client's address, formatted once per client connection. */
  peer(): string {
    const session = this.downstream.session;
    if (session === undefined) return '';
    let peer = peers.get(session);
    if (peer === undefined) {
      peer = formatPeer(session);
      if (peer !== '') peers.set(session, peer);
    }
    return peer;
  }

  /** CallRecord: the client certificate's verified identity, read once per client connection. */
  peerIdentity(): PeerIdentity | undefined {
    const session = this.downstream.session;
    if (session === undefined) return undefined;
    let identity = identities.get(session);
    if (identity === undefined) {
      identity = identityOf(session);
      identities.set(session, identity);
    }
    return identity ?? undefined;
  }

  // UpstreamCall's client side

  protected startRequest(): void {
    this.downstream.on('data', onDownstreamData);
    this.downstream.on('end', onDownstreamEnd);
  }

  protected pauseRequest(): void {
    this.downstream.pause();
  }

  protected resumeRequest(): void {
    if (this.downstream.isPaused()) this.downstream.resume();
  }

  protected clientHeaderLimit(): number {
    return clientHeaderLimit(this.downstream);
  }

  protected respond(fields: HeaderFields, endStream: boolean): void {
    const ds = this.downstream;
    if (ds.closed || ds.destroyed) return;
    ds.respond(fieldsToHeaders(fields), endStream ? TRAILERS_ONLY_OPTIONS : RESPOND_OPTIONS);
  }

  protected writeResponse(chunk: Buffer): boolean {
    const ds = this.downstream;
    if (ds.writableEnded || ds.destroyed) return true;
    if (ds.write(chunk)) return true;
    if (!this.downstreamDrainWired) {
      this.downstreamDrainWired = true;
      ds.on('drain', onDownstreamDrain);
    }
    if (!this.blocked && this.connection !== undefined) {
      this.blocked = true;
      this.connection.block(this);
    }
    return false;
  }

  protected endResponse(): void {
    const ds = this.downstream;
    if (!ds.writableEnded && !ds.destroyed) ds.end();
  }

  protected respondStatus(code: number, message: string): void {
    const ds = this.downstream;
    if (ds.closed || ds.destroyed) return;
    if (!ds.headersSent) {
      ds.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(code),
          'grpc-message': encodeGrpcMessage(message),
        },
        TRAILERS_ONLY_OPTIONS,
      );
      return;
    }
    this.trailers = statusTrailers(code, message);
    // The trailers go out on 'wantTrailers', behind the data already sent, as upstream
    // trailers do. A client that is behind on reading gets them when it catches up: resetting
    // its stream instead would turn every status into CANCELLED, the code for the caller's own
    // doing, which retry policies do not retry. A client that never reads keeps one stream's
    // buffered data until its deadline, cancel or connection ends it.
    if (!ds.writableEnded) ds.end();
  }

  protected ended(): void {
    this.context.observer.callEnded(this);
  }

  // The client's stream

  /** The client's stream closed: finished normally, or cancelled/reset by the client. */
  downstreamClosed(): void {
    this.unblock();
    this.connection?.removeCall(this);
    // A reset by the client counts towards its limit; streams closed because the whole
    // connection went away do not.
    const connection = this.connection;
    if (!this.done && connection !== undefined && !connection.session.destroyed) {
      connection.clientReset(performance.now());
    }
    this.cancelledByClient();
  }

  wantTrailers(): void {
    this.downstream.sendTrailers(
      fieldsToHeaders(
        this.trailers ??
          statusTrailers(Status.INTERNAL, 'upstream ended the call without a grpc-status'),
      ),
    );
  }

  downstreamDrained(): void {
    this.unblock();
    this.responseDrained();
  }

  private unblock(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.connection?.unblock(this);
  }

  unsentBytes(): number {
    return this.downstream.writableLength;
  }

  heldBytes(): number {
    return this.upstreamBufferedBytes + this.downstream.writableLength;
  }

  /**
   * BlockedStream: the client is too far behind. RST_STREAM(ENHANCE_YOUR_CALM), which gRPC
   * clients report as RESOURCE_EXHAUSTED; trailers could not reach a client that reads nothing.
   */
  reset(_reason: StreamResetReason, message: string): void {
    this.blocked = false;
    const ds = this.downstream;
    if (!ds.closed && !ds.destroyed) ds.close(NGHTTP2_ENHANCE_YOUR_CALM);
    this.abort(Status.RESOURCE_EXHAUSTED, message);
  }
}

const peers = new WeakMap<http2.Http2Session, string>();
/** null: the connection has no verified client certificate. */
const identities = new WeakMap<http2.Http2Session, PeerIdentity | null>();

function identityOf(session: http2.Http2Session): PeerIdentity | null {
  try {
    // Throws once the session lost its socket (ERR_HTTP2_SOCKET_UNBOUND).
    return verifiedPeerIdentity(session.socket as Partial<PeerCertificateSource>) ?? null;
  } catch {
    return null;
  }
}

/** The client's `address:port`, or "" once its session is gone. */
function formatPeer(session: http2.Http2Session): string {
  try {
    // Throws once the session lost its socket (ERR_HTTP2_SOCKET_UNBOUND).
    const socket = session.socket;
    const address = socket.remoteAddress;
    if (address === undefined) return '';
    const port = socket.remotePort ?? 0;
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  } catch {
    return '';
  }
}

// The client's SETTINGS_MAX_HEADER_LIST_SIZE, kept on its session and updated with its SETTINGS.
const kHeaderLimit = Symbol('switchyard.clientHeaderLimit');
type ClientSession = http2.ServerHttp2Session & { [kHeaderLimit]?: number };

function clientHeaderLimit(ds: Downstream): number {
  const session = ds.session as ClientSession | undefined;
  if (session === undefined) return Infinity;
  let limit = session[kHeaderLimit];
  if (limit === undefined) {
    limit = session.remoteSettings.maxHeaderListSize ?? Infinity;
    session[kHeaderLimit] = limit;
    session.on('remoteSettings', onClientSettings);
  }
  return limit;
}
function onClientSettings(this: ClientSession, settings: http2.Settings) {
  this[kHeaderLimit] = settings.maxHeaderListSize ?? Infinity;
}

// Event handlers shared by every call: `this` is the stream, the call hangs off a symbol slot,
// so wiring a call allocates no closures.

function onDownstreamData(this: Downstream, chunk: Buffer) {
  this[kCall]!.forwardRequest(chunk);
}
function onDownstreamEnd(this: Downstream) {
  this[kCall]!.requestEnd();
}
function onDownstreamClose(this: Downstream) {
  this[kCall]!.downstreamClosed();
}
function onDownstreamError() {
  // 'close' follows and settles the call.
}
function onWantTrailers(this: Downstream) {
  this[kCall]!.wantTrailers();
}
function onDownstreamDrain(this: Downstream) {
  this[kCall]!.downstreamDrained();
}
