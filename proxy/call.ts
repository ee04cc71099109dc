// One proxied gRPC call: picks an endpoint, opens the upstream stream, moves DATA both ways
// with backpressure, and ends the client's stream with the upstream's trailers or a status
// that says what went wrong. Frames pass through undecoded.
import http2 from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { Host } from '../balancer/host.js';
import {
  connectionOf,
  type BlockedStream,
  type ClientConnection,
  type ConnectionCall,
  type StreamResetReason,
} from './client-connection.js';
import type { Cluster, WaitingCall } from '../upstream/cluster.js';
import { cancelUpstream, type UpstreamSession } from '../upstream/endpoint-pool.js';
import { describeError } from '../common/errors.js';
import { TRACE } from '../common/trace.js';
import { formatGrpcTimeout } from '../grpc/grpc-timeout.js';
import { INVALID_FIELDS, invalidFieldReason, prepareHeaderFields } from '../grpc/header-fields.js';
import {
  Status,
  encodeGrpcMessage,
  isEndpointFailure,
  rstCodeName,
  statusFromHttpStatus,
  statusFromRstCode,
} from '../grpc/grpc-status.js';

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR } = http2.constants;
const END_STREAM_FLAG = http2.constants.NGHTTP2_FLAG_END_STREAM;

/** Request bytes kept for a transparent retry; larger requests are not retried. */
const MAX_REPLAY_BYTES = 64 * 1024;
/** The longest delay setTimeout honours (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 0x7fffffff;
/** Below MAX_TIMER_MS even after rounding up to whole seconds, as long timeouts are sent. */
const MAX_FORWARDED_TIMEOUT_MS = 2_000_000_000;
/** Attempts on different endpoints before a call that never reached one fails. */
const MAX_ATTEMPTS = 5;
/** The most a `grpc-timeout` field the proxy sets adds to a header block (12 + 8 + 32). */
const GRPC_TIMEOUT_FIELD_BYTES = 52;

/**
 * What the proxy learns about calls (metrics, access log). Both run on the call path,
 * synchronously: keep them cheap, and never throw.
 */
export interface CallObserver {
  callStarted(call: ProxyCall): void;
  /** Once per call, when its status is known (the client may still be reading). */
  callEnded(call: ProxyCall): void;
}

/** Everything a call needs from the proxy that is the same for every call of a route. */
export interface CallContext {
  readonly cluster: Cluster;
  /** The route that matched, for metrics and logs. */
  readonly routeName: string;
  /** `:authority` sent upstream instead of the client's, if set. */
  readonly authority: string | undefined;
  readonly observer: CallObserver;
}

const kCall = Symbol('switchyard.call');
type ResponseHeaders = IncomingHttpHeaders & http2.IncomingHttpStatusHeader;
type Downstream = http2.ServerHttp2Stream & { [kCall]?: ProxyCall };
type Upstream = http2.ClientHttp2Stream & { [kCall]?: ProxyCall };

const UPSTREAM_REQUEST_OPTIONS: http2.ClientSessionRequestOptions = { endStream: false };
const TRAILERS_ONLY_OPTIONS = { endStream: true } as const;
const RESPOND_OPTIONS = { waitForTrailers: true } as const;

export class ProxyCall implements WaitingCall, BlockedStream, ConnectionCall {
  /** Set once the call ended upstream-side (status known, balancer told). */
  done = false;
  /** Final gRPC status (-1 until known) and, for statuses the proxy made, its message. */
  status = -1;
  message = '';
  host: Host | null = null;
  bytesIn = 0;
  bytesOut = 0;
  readonly startedAt = performance.now();
  endedAt = 0;

  private session: UpstreamSession | null = null;
  private upstream: Upstream | null = null;
  private upstreamError: Error | undefined = undefined;
  private attempts = 0;
  /** The endpoint the last attempt failed on; a retry picks another when it can. */
  private avoid: Host | null = null;
  private attemptStartedAt = 0;
  private waiting = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  private trailers: OutgoingHttpHeaders | null = null;
  private responded = false;
  private trailersOnly = false;
  private requestEnded = false;
  private reading = false;
  /**
   * Request chunks sent so far, kept until the upstream answers, for a transparent retry: the
   * first in `replayHead` (unary calls need no array), more in `replayRest`. `replayBytes`
   * is -1 once the request outgrew MAX_REPLAY_BYTES or the upstream answered.
   */
  private replayHead: Buffer | null = null;
  private replayRest: Buffer[] | null = null;
  private replayBytes = 0;
  /** 'drain' listeners are wired on the first backpressure, not for every call. */
  private downstreamDrainWired = false;
  private upstreamDrainWired = false;
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
    /** The client's request headers; edited in place into the upstream request. */
    readonly headers: IncomingHttpHeaders,
    readonly path: string,
    readonly context: CallContext,
    /** Milliseconds until the deadline, or undefined for none. */
    readonly timeoutMs: number | undefined,
    /** The request headers' size as a peer's SETTINGS_MAX_HEADER_LIST_SIZE counts it. */
    private headerBytes: number,
  ) {
    downstream[kCall] = this;
    this.connection = connectionOf(downstream.session);
    this.connection?.addCall(this);
    downstream.on('close', onDownstreamClose);
    downstream.on('error', onDownstreamError);
    downstream.on('wantTrailers', onWantTrailers);
  }

  start(): void {
    this.context.observer.callStarted(this);
    const timeoutMs = this.timeoutMs;
    if (timeoutMs !== undefined) {
      if (timeoutMs <= 0) {
        this.fail(Status.DEADLINE_EXCEEDED, 'deadline exceeded before the call was sent', false);
        return;
      }
      // Node fires longer timers after 1 ms; a deadline weeks away needs no timer at all.
      if (timeoutMs <= MAX_TIMER_MS) this.timer = setTimeout(onDeadline, timeoutMs, this);
    }
    const authority = this.context.authority;
    if (authority !== undefined) {
      const replaced = this.headers[':authority'];
      this.headerBytes += authority.length - (replaced === undefined ? -32 : replaced.length);
      this.headers[':authority'] = authority;
    }
    this.dispatch();
  }

  /** WaitingCall: an endpoint may have become ready. */
  retryPick(): void {
    this.waiting = false;
    if (!this.done) this.dispatch();
  }

  /** WaitingCall: no endpoint became ready in time. */
  waitExpired(reason: string): void {
    this.waiting = false;
    this.fail(Status.UNAVAILABLE, reason, false);
  }

  private dispatch(): void {
    const cluster = this.context.cluster;
    while (!this.done) {
      let host = cluster.pick(this);
      // A retry goes elsewhere when the cluster has anywhere else to go.
      for (let i = 1; host !== null && host === this.avoid && i < cluster.balancer.size; i++) {
        host = cluster.pick(this);
      }
      if (host === null) {
        if (cluster.canWait()) {
          this.waiting = true;
          cluster.enqueue(this);
        } else {
          this.fail(Status.UNAVAILABLE, cluster.unavailableReason(), false);
        }
        return;
      }
      if (this.reading && !this.replayable) {
        this.fail(
          Status.UNAVAILABLE,
          'the upstream failed before answering and the request is too large to send again',
          false,
        );
        return;
      }
      const session = cluster.pool(host)?.acquire() ?? null;
      if (session !== null && this.send(host, session)) return;
      this.avoid = host;
      if (TRACE.call) cluster.traceRetry(this, host, this.attempts + 1, MAX_ATTEMPTS, 'no stream');
      if (++this.attempts >= MAX_ATTEMPTS) {
        this.fail(
          Status.UNAVAILABLE,
          `could not send the call upstream after ${this.attempts} attempts`,
          false,
        );
        return;
      }
    }
  }

  private send(host: Host, session: UpstreamSession): boolean {
    const headers = this.headers;
    const bytes = this.headerBytes + (this.timeoutMs === undefined ? 0 : GRPC_TIMEOUT_FIELD_BYTES);
    if (bytes > session.maxHeaderListSize) {
      // gRPC C-core fails its whole connection, every call on it, for a larger block.
      this.fail(
        Status.RESOURCE_EXHAUSTED,
        `request metadata of ${bytes} bytes is over the ${session.maxHeaderListSize} that ${host.key} accepts`,
        false,
      );
      return true;
    }
    headers[':scheme'] = session.pool.scheme;
    if (this.timeoutMs !== undefined) {
      const remaining = this.timeoutMs - (performance.now() - this.startedAt);
      // Capped where timers stop working: many servers (grpc-js among them) turn a longer
      // timeout into an instant DEADLINE_EXCEEDED.
      headers['grpc-timeout'] = formatGrpcTimeout(Math.min(remaining, MAX_FORWARDED_TIMEOUT_MS));
    }
    let upstream: Upstream;
    try {
      upstream = session.session.request(headers, UPSTREAM_REQUEST_OPTIONS);
    } catch (err) {
      if (session.session.closed || session.session.destroyed || isSessionError(err)) {
        // The session closed under us (GOAWAY or socket loss not yet seen): nothing was sent.
        session.pool.sessionDraining(session, 'the connection refused a new stream');
        return false;
      }
      // node:http2 refused these headers: the call's own fault, not the session's.
      this.fail(Status.INTERNAL, `cannot send the request headers: ${describeError(err)}`, false);
      return true;
    }
    session.active++;
    this.session = session;
    this.host = host;
    this.upstream = upstream;
    this.upstreamError = undefined;
    this.attemptStartedAt = performance.now();
    this.context.cluster.balancer.callStarted(host);
    upstream[kCall] = this;
    upstream.on('response', onUpstreamResponse);
    upstream.on('data', onUpstreamData);
    upstream.on('trailers', onUpstreamTrailers);
    upstream.on('end', onUpstreamEnd);
    upstream.on('close', onUpstreamClose);
    upstream.on('error', onUpstreamError);
    this.upstreamDrainWired = false;

    if (!this.reading) {
      this.reading = true;
      this.downstream.on('data', onDownstreamData);
      this.downstream.on('end', onDownstreamEnd);
    } else {
      // A retry: send again what the failed attempt had sent, then read on.
      if (this.replayHead !== null) upstream.write(this.replayHead);
      if (this.replayRest !== null) for (const chunk of this.replayRest) upstream.write(chunk);
      if (this.requestEnded) upstream.end();
      else this.downstream.resume();
    }
    return true;
  }

  /** Whether the request sent so far can be sent again to another endpoint. */
  private get replayable(): boolean {
    return this.replayBytes >= 0;
  }

  private dropReplay(): void {
    this.replayBytes = -1;
    this.replayHead = null;
    this.replayRest = null;
  }

  /** Request data from the client. */
  forwardRequest(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    if (this.replayBytes >= 0) {
      if (this.replayBytes + chunk.length > MAX_REPLAY_BYTES) this.dropReplay();
      else {
        this.replayBytes += chunk.length;
        if (this.replayHead === null) this.replayHead = chunk;
        else (this.replayRest ??= []).push(chunk);
      }
    }
    const upstream = this.upstream;
    if (upstream === null) {
      // Between attempts: keep the chunk for the retry, read no more until it is sent.
      this.downstream.pause();
      return;
    }
    if (!upstream.write(chunk)) {
      this.downstream.pause();
      if (!this.upstreamDrainWired) {
        this.upstreamDrainWired = true;
        upstream.on('drain', onUpstreamDrain);
      }
    }
  }

  requestEnd(): void {
    this.requestEnded = true;
    const upstream = this.upstream;
    if (upstream !== null && !upstream.closed) upstream.end();
  }

  /** Response headers from the upstream. */
  upstreamResponse(
    upstream: Upstream,
    headers: ResponseHeaders,
    flags: number,
    rawHeaders: string[],
  ): void {
    this.responded = true;
    this.dropReplay();
    const problem = this.unforwardable(headers, rawHeaders, 'response headers');
    if (problem !== null) {
      this.fail(Status.INTERNAL, problem, false);
      return;
    }
    const httpStatus = headers[':status'];
    const grpcStatus = headers['grpc-status'];
    if (httpStatus !== 200) {
      // Not a gRPC answer (a load balancer's 502, an HTTP server's 404): clients expect 200.
      const code =
        grpcStatus !== undefined ? Number(grpcStatus) : statusFromHttpStatus(httpStatus ?? 0);
      const detail = headers['grpc-message'] ?? `upstream answered HTTP ${httpStatus}`;
      cancelUpstream(this.session, upstream);
      this.fail(code, String(detail), code === Status.UNAVAILABLE);
      return;
    }
    const ds = this.downstream;
    if (ds.closed || ds.destroyed) return;
    if ((flags & END_STREAM_FLAG) !== 0) {
      // Trailers-only: the status travels in the only HEADERS frame; keep it that way.
      this.trailersOnly = true;
      if (grpcStatus === undefined) {
        headers['grpc-status'] = String(Status.INTERNAL);
        headers['grpc-message'] = 'upstream ended the call without a grpc-status';
        this.status = Status.INTERNAL;
      } else {
        this.status = Number(grpcStatus);
      }
      ds.respond(headers, TRAILERS_ONLY_OPTIONS);
      return;
    }
    ds.respond(headers, RESPOND_OPTIONS);
  }

  upstreamData(upstream: Upstream, chunk: Buffer): void {
    this.bytesOut += chunk.length;
    const ds = this.downstream;
    if (ds.writableEnded || ds.destroyed) return;
    if (!ds.write(chunk)) {
      upstream.pause();
      if (!this.downstreamDrainWired) {
        this.downstreamDrainWired = true;
        ds.on('drain', onDownstreamDrain);
      }
      if (!this.blocked && this.connection !== undefined) {
        this.blocked = true;
        this.connection.block(this);
      }
    }
  }

  upstreamTrailers(trailers: IncomingHttpHeaders, rawTrailers: string[]): void {
    const problem = this.unforwardable(trailers, rawTrailers, 'trailers');
    if (problem !== null) {
      this.status = Status.INTERNAL;
      this.message = problem;
      this.trailers = statusTrailers(Status.INTERNAL, problem);
      return;
    }
    this.trailers = trailers;
    const s = trailers['grpc-status'];
    this.status = s === undefined ? -1 : Number(s);
  }

  /**
   * Readies an upstream header block for the client (repeated names kept apart), or says why
   * it must not reach it: a client such as gRPC C-core fails its whole connection, every call
   * on it, for a `-bin` value that is not base64 or a block over its header list limit.
   */
  private unforwardable(
    fields: IncomingHttpHeaders,
    raw: string[],
    what: 'response headers' | 'trailers',
  ): string | null {
    const bytes = prepareHeaderFields(fields, raw);
    if (bytes === INVALID_FIELDS) return `upstream ${what}: ${invalidFieldReason(raw)}`;
    const limit = clientHeaderLimit(this.downstream);
    if (bytes > limit) return `upstream ${what} of ${bytes} bytes are over the client's ${limit}`;
    return null;
  }

  upstreamEnd(): void {
    // Without trailers this is either a reset (Node ends the readable side of a reset stream
    // too) or a DATA frame with END_STREAM: 'close' tells which, from the reset code.
    if (this.trailersOnly || this.trailers === null) return;
    if (this.trailers['grpc-status'] === undefined) {
      this.status = Status.INTERNAL;
      this.message = 'upstream ended the call without a grpc-status';
      this.trailers = statusTrailers(Status.INTERNAL, this.message);
    }
    const ds = this.downstream;
    if (!ds.writableEnded && !ds.destroyed) ds.end();
  }

  upstreamClosed(upstream: Upstream): void {
    const session = this.session;
    this.session = null;
    session?.release();
    if (this.done) return;
    const host = this.host!;
    if (upstream.readableEnded && (this.trailersOnly || this.trailers !== null)) {
      this.finish(this.status, isEndpointFailure(this.status));
      return;
    }
    // The stream ended without END_STREAM: reset by the upstream, or its session died.
    const rst = upstream.rstCode ?? NGHTTP2_NO_ERROR;
    const neverSent = upstream.id === undefined || upstream.pending;
    if (!this.responded && (rst === NGHTTP2_REFUSED_STREAM || neverSent) && this.replayable) {
      // The upstream did not process the call (refused, or it never left): safe elsewhere.
      this.context.cluster.balancer.callEnded(
        host,
        performance.now() - this.attemptStartedAt,
        neverSent,
      );
      this.upstream = null;
      this.host = null;
      this.avoid = host;
      if (TRACE.call)
        this.context.cluster.traceRetry(this, host, this.attempts + 1, MAX_ATTEMPTS, 'refused');
      if (++this.attempts < MAX_ATTEMPTS) {
        this.dispatch();
        return;
      }
      this.fail(Status.UNAVAILABLE, `${host.key} refused the call ${this.attempts} times`, false);
      return;
    }
    let code: number;
    let message: string;
    // A stream whose session died is closed by Node with INTERNAL_ERROR; a reset the upstream
    // sent arrives while the session still lives.
    const sessionLost = session === null || session.session.destroyed;
    if (!sessionLost && rst === NGHTTP2_NO_ERROR && upstream.readableEnded) {
      code = Status.INTERNAL;
      message = 'upstream ended the call without a grpc-status';
    } else if (!sessionLost) {
      code = rst === NGHTTP2_NO_ERROR ? Status.INTERNAL : statusFromRstCode(rst);
      message = `upstream ${host.key} reset the stream (${rstCodeName(rst)})`;
    } else {
      code = Status.UNAVAILABLE;
      const why = this.context.cluster.pool(host)?.sessionError ?? this.upstreamError;
      message = `connection to ${host.key} lost mid-call${why ? `: ${describeError(why)}` : ''}`;
    }
    this.failFromUpstream(code, message, code === Status.UNAVAILABLE || code === Status.INTERNAL);
  }

  upstreamFailed(err: Error): void {
    this.upstreamError = err;
  }

  /** The client's stream closed: finished normally, or cancelled/reset by the client. */
  downstreamClosed(): void {
    this.unblock();
    this.connection?.removeCall(this);
    if (this.waiting) {
      this.waiting = false;
      this.context.cluster.dequeue(this);
    }
    if (this.done) return;
    const upstream = this.upstream;
    if (upstream !== null) cancelUpstream(this.session, upstream);
    // A reset by the client counts towards its limit; streams closed because the whole
    // connection went away do not.
    const connection = this.connection;
    if (connection !== undefined && !connection.session.destroyed) {
      connection.clientReset(performance.now());
    }
    this.message = 'cancelled by the client';
    this.finish(Status.CANCELLED, this.unansweredAtDeadline());
  }

  wantTrailers(): void {
    const ds = this.downstream;
    ds.sendTrailers(
      this.trailers ??
        statusTrailers(Status.INTERNAL, 'upstream ended the call without a grpc-status'),
    );
  }

  downstreamDrained(): void {
    this.unblock();
    const upstream = this.upstream;
    if (upstream !== null && upstream.isPaused()) upstream.resume();
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
    return (this.upstream?.readableLength ?? 0) + this.downstream.writableLength;
  }

  /**
   * BlockedStream: the client is too far behind. RST_STREAM(ENHANCE_YOUR_CALM), which gRPC
   * clients report as RESOURCE_EXHAUSTED; trailers could not reach a client that reads nothing.
   */
  reset(_reason: StreamResetReason, message: string): void {
    this.blocked = false;
    const upstream = this.upstream;
    if (upstream !== null) cancelUpstream(this.session, upstream);
    const ds = this.downstream;
    if (!ds.closed && !ds.destroyed) ds.close(NGHTTP2_ENHANCE_YOUR_CALM);
    if (this.done) return;
    this.message = message;
    this.finish(Status.RESOURCE_EXHAUSTED, false);
  }

  upstreamDrained(): void {
    if (this.downstream.isPaused()) this.downstream.resume();
  }

  deadline(): void {
    this.timer = undefined;
    if (this.done) return;
    const upstream = this.upstream;
    if (upstream !== null) cancelUpstream(this.session, upstream);
    if (this.waiting) {
      this.waiting = false;
      this.context.cluster.dequeue(this);
    }
    this.fail(
      Status.DEADLINE_EXCEEDED,
      `deadline of ${this.timeoutMs} ms exceeded`,
      this.unansweredAtDeadline(),
    );
  }

  /**
   * An endpoint that took the call and said nothing by its deadline counts as failing it
   * (outlier detection). The client cancels at its own deadline, which comes a little before
   * or after the proxy's: a cancel in the last tenth counts too.
   */
  private unansweredAtDeadline(): boolean {
    if (this.host === null || this.responded || this.timeoutMs === undefined) return false;
    return performance.now() - this.startedAt >= this.timeoutMs * 0.9;
  }

  /** ConnectionCall: the proxy is shutting down and the grace is over. */
  abandon(message: string): void {
    if (this.waiting) {
      this.waiting = false;
      this.context.cluster.dequeue(this);
    }
    this.fail(Status.UNAVAILABLE, message, false);
  }

  /** Ends the call with a status the proxy made. */
  fail(code: number, message: string, endpointFailure: boolean): void {
    if (this.done) return;
    const upstream = this.upstream;
    if (upstream !== null) cancelUpstream(this.session, upstream);
    this.message = message;
    this.respondStatus(code, message);
    this.finish(code, endpointFailure);
  }

  private failFromUpstream(code: number, message: string, endpointFailure: boolean): void {
    if (endpointFailure) this.context.cluster.endpointFailed();
    this.fail(code, message, endpointFailure);
  }

  private respondStatus(code: number, message: string): void {
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

  private finish(code: number, endpointFailure: boolean): void {
    this.done = true;
    this.status = code;
    this.endedAt = performance.now();
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const host = this.host;
    if (host !== null) {
      this.context.cluster.balancer.callEnded(
        host,
        this.endedAt - this.attemptStartedAt,
        endpointFailure,
      );
    }
    this.context.observer.callEnded(this);
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

function statusTrailers(code: number, message: string): OutgoingHttpHeaders {
  return { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) };
}

// Event handlers shared by every call: `this` is the stream, the call hangs off a symbol slot,
// so wiring a call allocates no closures.

function onDeadline(call: ProxyCall) {
  call.deadline();
}
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
function current(stream: Upstream): ProxyCall | undefined {
  const call = stream[kCall];
  return call !== undefined && call['upstream'] === stream ? call : undefined;
}
function onUpstreamResponse(
  this: Upstream,
  headers: ResponseHeaders,
  flags: number,
  rawHeaders: string[],
) {
  const call = current(this);
  if (call !== undefined && !call.done) call.upstreamResponse(this, headers, flags, rawHeaders);
}
function onUpstreamData(this: Upstream, chunk: Buffer) {
  const call = current(this);
  if (call !== undefined) call.upstreamData(this, chunk);
}
function onUpstreamTrailers(
  this: Upstream,
  trailers: IncomingHttpHeaders,
  _flags: number,
  rawTrailers: string[],
) {
  const call = current(this);
  if (call !== undefined && !call.done) call.upstreamTrailers(trailers, rawTrailers);
}
function onUpstreamEnd(this: Upstream) {
  const call = current(this);
  if (call !== undefined && !call.done) call.upstreamEnd();
}
function onUpstreamClose(this: Upstream) {
  const call = this[kCall];
  if (call === undefined) return;
  if (call['upstream'] === this) call.upstreamClosed(this);
}
function onUpstreamError(this: Upstream, err: Error) {
  const call = current(this);
  if (call !== undefined) call.upstreamFailed(err);
}
function onUpstreamDrain(this: Upstream) {
  const call = current(this);
  if (call !== undefined) call.upstreamDrained();
}
