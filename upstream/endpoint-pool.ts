// The upstream HTTP/2 sessions to one endpoint: connect with backoff, multiplex, open another
// session at the peer's stream limit or reset budget, drain on GOAWAY, close idle extras, and
// close connections that stopped working (unanswered PINGs, protocol errors, socket errors).
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Host, Connectivity } from '../balancer/host.js';
import type { KeepaliveConfig } from '../config/types.js';
import { backoffDelay, type BackoffPolicy } from '../common/backoff.js';
import { TRACE } from '../common/trace.js';
import { systemClock, type Clock } from '../common/clock.js';
import type { Dialer } from './dialer.js';
import { SwitchyardError, describeError } from '../common/errors.js';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from './flow-control.js';
import { LivenessMonitor, type LivenessTarget, type LivenessVerdict } from './liveness-monitor.js';
import { ResetBudget, type ResetLimit } from './reset-budget.js';

export interface PoolOptions {
  readonly dialer: Dialer;
  readonly connectTimeoutMs: number;
  readonly keepalive: KeepaliveConfig;
  /** Extra sessions (beyond the first) close after this long without streams. */
  readonly idleTimeoutMs: number;
  /** Sessions one endpoint may have open at once. */
  readonly maxSessions: number;
  /** Local SETTINGS for upstream sessions. */
  readonly settings: http2.Settings;
  /** The endpoint's rapid-reset limit, kept per session (see ResetBudget). */
  readonly resetLimit?: ResetLimit;
  /** Time for keepalive PINGs and the reset budget; the system clock by default. */
  readonly clock?: Clock;
}

/** What the pool tells its cluster. Called asynchronously, never from `acquire()`. */
export interface PoolEvents {
  connectivityChanged(pool: EndpointPool, state: Connectivity, reason: string): void;
  /** A connect attempt failed; the cluster may ask its resolver for fresh endpoints. */
  connectFailed(pool: EndpointPool, error: Error): void;
  /**
   * A connection that was serving broke (a protocol error, unanswered PINGs, a socket error);
   * its calls fail with `error` and the endpoint reconnects with backoff.
   */
  connectionFailed(pool: EndpointPool, error: Error): void;
  /** SWITCHYARD_TRACE=pool only: a session event that changes no connectivity. */
  sessionEvent?(pool: EndpointPool, event: string, fields: Readonly<Record<string, unknown>>): void;
}

/** gRPC's connection backoff: 1 s, ×1.6 per failure, at most 30 s (20 % jitter, which gRPC also uses). */
const CONNECT_BACKOFF: BackoffPolicy = {
  initialMs: 1_000,
  maxMs: 30_000,
  multiplier: 1.6,
  jitter: 0.2,
};

/**
 * PING intervals double after each GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"), as gRPC clients
 * do (gRFC A8), up to 2^6 = 64 times the configured ones: 30 s becomes 32 min, past the 5 min
 * and (without calls) 2 h minimums of gRPC core and grpc-go servers' default ping policies.
 */
const MAX_PING_SCALE = 64;
const TOO_MANY_PINGS = Buffer.from('too_many_pings', 'latin1');
const { NGHTTP2_CANCEL } = http2.constants;
/**
 * Resets kept back from new streams, a tenth of the burst: room for resets the pool does not
 * count (node:http2 resets streams it cannot use by itself) and for peers whose seconds tick
 * differently.
 */
const RESET_RESERVE_SHARE = 0.1;
/** Below half its burst a session is replaced by a fresh one, which starts with a full budget. */
const RESET_ROTATE_SHARE = 0.5;
/** How often resets held back for lack of budget are retried. */
const DEFERRED_RESET_RETRY_MS = 1_000;

/** One HTTP/2 session to the endpoint and its stream accounting. */
export class UpstreamSession implements LivenessTarget {
  /** Streams opened and not yet closed. */
  active = 0;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  maxStreams = 100;
  /** The peer's SETTINGS_MAX_HEADER_LIST_SIZE: larger request headers are not sent to it. */
  maxHeaderListSize = Infinity;
  /** No new streams: GOAWAY received, or the pool is closing. */
  draining = false;
  idleTimer: NodeJS.Timeout | undefined = undefined;
  /** Set once the peer's first SETTINGS arrived: the session can take streams. */
  ready = false;
  /** Set once the pool has let go of the session (closed, destroyed or broken). */
  gone = false;
  /** Why the session was torn down, when it broke rather than closed. */
  failure: Error | undefined = undefined;
  /** The last 'error' node:http2 reported on the session. */
  lastError: Error | undefined = undefined;
  /** The failure says the endpoint misbehaves (not just a lost socket): reconnect with backoff. */
  broken = false;
  monitor: LivenessMonitor | undefined = undefined;
  /** A fresh session is being opened to take over; this one drains once that one is ready. */
  retiring = false;
  /** Streams whose reset waits for the budget to grow back, and the timer that retries them. */
  private deferred: http2.ClientHttp2Stream[] | null = null;
  private deferredTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly pool: EndpointPool,
    readonly session: http2.ClientHttp2Session,
    readonly socket: Duplex,
    /** What the peer's rapid-reset protection still allows; undefined when not counted. */
    readonly resets: ResetBudget | undefined,
  ) {}

  /**
   * Whether one more stream fits the reset budget: every open stream may need one reset, and
   * a tenth of the burst stays in reserve. Reads the clock only when the budget runs low.
   */
  hasResetRoom(): boolean {
    const budget = this.resets;
    if (budget === undefined) return true;
    const reserve = budget.limit.burst * RESET_RESERVE_SHARE;
    if (this.active + reserve < budget.floor) return true;
    return this.active + reserve < budget.available();
  }

  /**
   * Cancels a stream of this session (RST_STREAM CANCEL) within the peer's reset limit. When the
   * budget is spent, the stream is left to end on its own, its data read and dropped, and reset
   * as soon as the budget allows: a late reset costs the backend some work, one over its limit
   * costs every call on the connection.
   */
  cancel(stream: http2.ClientHttp2Stream): void {
    if (stream.destroyed) return;
    if (stream.closed) {
      // The backend finished while the client was not reading: the unread answer sits in the
      // paused stream, and its 'close', which gives the session its slot back, waits for it.
      stream.destroy();
      return;
    }
    const budget = this.resets;
    if (budget === undefined) {
      stream.close(NGHTTP2_CANCEL);
      this.pool.resets.sent++;
      return;
    }
    if (budget.take()) {
      stream.close(NGHTTP2_CANCEL);
      this.pool.resets.sent++;
      this.pool.resetSent(this);
      return;
    }
    this.pool.resets.deferred++;
    stream.resume();
    (this.deferred ??= []).push(stream);
    if (this.deferredTimer === undefined) {
      this.deferredTimer = setTimeout(retryDeferredResets, DEFERRED_RESET_RETRY_MS, this);
      this.deferredTimer.unref();
    }
  }

  /** @internal sends the held-back resets the budget allows now. */
  retryDeferred(): void {
    this.deferredTimer = undefined;
    const queue = this.deferred;
    if (queue === null || this.gone) return;
    let i = 0;
    for (; i < queue.length; i++) {
      const stream = queue[i];
      if (stream.closed || stream.destroyed) continue;
      if (!this.resets!.take()) break;
      stream.close(NGHTTP2_CANCEL);
      this.pool.resets.sent++;
    }
    queue.splice(0, i);
    if (queue.length === 0) this.deferred = null;
    else {
      this.deferredTimer = setTimeout(retryDeferredResets, DEFERRED_RESET_RETRY_MS, this);
      this.deferredTimer.unref();
    }
  }

  /** @internal the session is gone: nothing left to reset. */
  dropDeferred(): void {
    clearTimeout(this.deferredTimer);
    this.deferredTimer = undefined;
    this.deferred = null;
  }

  /** A stream on this session closed. */
  release(): void {
    this.active--;
    if (this.active === 0) this.pool.sessionIdle(this);
  }

  // LivenessTarget

  get streams(): number {
    return this.active;
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
}

/** Cancels an upstream stream through its session's reset budget (see UpstreamSession.cancel). */
export function cancelUpstream(
  session: UpstreamSession | null,
  stream: http2.ClientHttp2Stream,
): void {
  if (session !== null) session.cancel(stream);
  else if (!stream.closed) stream.close(NGHTTP2_CANCEL);
  else if (!stream.destroyed) stream.destroy();
}

function retryDeferredResets(s: UpstreamSession) {
  s.retryDeferred();
}

// Shared handlers (no per-session closures): the session and its socket carry their
// UpstreamSession.
const kSession = Symbol('switchyard.upstreamSession');
type TaggedSession = http2.ClientHttp2Session & { [kSession]: UpstreamSession };
type TaggedSocket = Duplex & { [kSession]?: UpstreamSession };

function onRemoteSettings(this: TaggedSession, settings: http2.Settings) {
  const s = this[kSession];
  s.maxStreams = settings.maxConcurrentStreams ?? 4294967295;
  s.maxHeaderListSize = settings.maxHeaderListSize ?? Infinity;
  if (!s.ready) s.pool.sessionReady(s);
}
function onGoaway(this: TaggedSession, code: number, _lastStreamId: number, data?: Buffer) {
  const s = this[kSession];
  const tooManyPings =
    code === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM &&
    data !== undefined &&
    data.equals(TOO_MANY_PINGS);
  if (tooManyPings) s.pool.tooManyPings();
  s.pool.sessionDraining(s, 'upstream sent GOAWAY');
}
function onSessionClose(this: TaggedSession) {
  const s = this[kSession];
  s.pool.sessionClosed(s);
}
function onSessionError(this: TaggedSession, err: Error) {
  const s = this[kSession];
  s.lastError = err;
  s.pool.sessionError = err;
  if (isPeerProtocolError(err) && s.ready) s.pool.sessionFailed(s, s.pool.protocolError());
}
/**
 * nghttp2 found invalid HTTP/2 in what the peer sent. Node 22 and later report it (on the
 * socket first, then the session) and destroy the session; Node 20 goes quiet instead and the
 * liveness monitor finds it. Either way the endpoint misbehaves: it is retried after a backoff,
 * not at once as after a lost socket.
 */
function isPeerProtocolError(err: Error): boolean {
  return (err as NodeJS.ErrnoException).code === 'ERR_HTTP2_ERROR';
}
function onSocketError(this: TaggedSocket, err: Error) {
  // node:http2 does not always report these: a TLS alert read after the handshake (TLS 1.3
  // "certificate required") destroys the session without an 'error' or 'close' event.
  const s = this[kSession];
  if (s !== undefined) s.pool.socketFailed(s, err);
}
function onSocketClose(this: TaggedSocket) {
  const s = this[kSession];
  if (s !== undefined) s.pool.sessionClosed(s);
}

export class EndpointPool {
  private readonly sessions: UpstreamSession[] = [];
  private dialing = 0;
  private state: Connectivity = 'idle';
  /** Connect failures in a row, for the backoff. */
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly clock: Clock;
  /** Multiplies the keepalive intervals; doubled by each `too_many_pings` GOAWAY. */
  private pingScale = 1;
  /** The last error seen on a session, for the status message of calls it breaks. */
  sessionError: Error | undefined;
  /**
   * Stream resets sent to the endpoint, held back by a connection's reset budget (sent later,
   * or not at all when the stream ends first), and connections replaced before their peer's
   * reset limit: totals since the endpoint joined its cluster, read by /metrics.
   */
  readonly resets = { sent: 0, deferred: 0, rotations: 0 };
  readonly authority: string;

  constructor(
    readonly host: Host,
    private readonly options: PoolOptions,
    private readonly events: PoolEvents,
  ) {
    this.authority = host.key;
    this.clock = options.clock ?? systemClock;
  }

  get connectivity(): Connectivity {
    return this.state;
  }

  get scheme(): 'http' | 'https' {
    return this.options.dialer.scheme;
  }

  /** Sessions open (ready or draining), for the admin view. */
  get sessionCount(): number {
    return this.sessions.length;
  }

  /** Connects eagerly, so the endpoint is ready before the first call needs it. */
  start(): void {
    if (this.sessions.length === 0 && this.dialing === 0) void this.connect();
  }

  /**
   * A session that can take a stream now, or null when none is ready. First fit, so load
   * concentrates on as few sessions as the peer's stream limit allows.
   */
  acquire(): UpstreamSession | null {
    const sessions = this.sessions;
    let best: UpstreamSession | null = null;
    for (let i = 0; i < sessions.length; i++) {
      const s = sessions[i];
      if (s.draining || !s.ready) continue;
      if (s.active < s.maxStreams && s.hasResetRoom()) {
        if (s.idleTimer !== undefined) {
          clearTimeout(s.idleTimer);
          s.idleTimer = undefined;
        }
        return s;
      }
      if (best === null || s.active < best.active) best = s;
    }
    // Every session is at the peer's stream limit or its reset budget: open one more. Meanwhile
    // the least busy one takes the stream (nghttp2 queues it until a stream ends; a reset it
    // may need waits for the budget, see cancel()).
    if (best !== null && this.mayOpenSession()) void this.connect();
    return best;
  }

  /** Stops taking calls; sessions close once their streams finish. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const s of [...this.sessions]) this.closeSession(s);
  }

  /** Closes everything now; streams still open are reset. */
  destroy(): void {
    this.close();
    for (const s of [...this.sessions]) s.session.destroy();
  }

  private setState(state: Connectivity, reason: string): void {
    if (this.closed) return;
    this.state = state;
    this.events.connectivityChanged(this, state, reason);
  }

  private mayOpenSession(): boolean {
    return this.dialing === 0 && this.usableCount() < this.options.maxSessions;
  }

  private usableCount(): number {
    let n = 0;
    for (const s of this.sessions) if (s.ready && !s.draining) n++;
    return n;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    this.dialing++;
    if (this.usableCount() === 0 && this.state !== 'connecting') {
      this.setState('connecting', this.state === 'failing' ? this.host.connectivityReason : '');
    }
    let socket;
    try {
      socket = await this.options.dialer.dial(this.host.endpoint, this.options.connectTimeoutMs);
    } catch (err) {
      this.dialing--;
      this.connectFailed(err as Error);
      return;
    }
    this.dialing--;
    if (this.closed) {
      socket.destroy();
      return;
    }
    const session = http2.connect(`${this.scheme}://${this.authority}`, {
      createConnection: () => socket,
      settings: { initialWindowSize: STREAM_WINDOW_BYTES, ...this.options.settings },
      // The default 10 MB caps what nghttp2 may hold for all streams of a session; a proxy
      // multiplexing many clients onto one session needs more before it refuses streams.
      maxSessionMemory: 64,
    }) as TaggedSession;
    const limit = this.options.resetLimit;
    const budget =
      limit !== undefined && limit.burst > 0 ? new ResetBudget(limit, this.clock) : undefined;
    const s = new UpstreamSession(this, session, socket, budget);
    session[kSession] = s;
    (socket as TaggedSocket)[kSession] = s;
    this.sessions.push(s);
    session.on('remoteSettings', onRemoteSettings);
    session.on('goaway', onGoaway);
    session.on('close', onSessionClose);
    session.on('error', onSessionError);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    // A peer that accepts TCP but never speaks HTTP/2 must not hold the endpoint.
    s.idleTimer = setTimeout(() => {
      if (!s.ready) {
        this.sessionFailed(
          s,
          new SwitchyardError(
            'SWY_ERR_CONNECT_TIMEOUT',
            `no HTTP/2 SETTINGS from ${this.host.key} within ${this.options.connectTimeoutMs} ms`,
          ),
        );
      }
    }, this.options.connectTimeoutMs);
    s.idleTimer.unref();
  }

  private connectFailed(err: Error): void {
    if (this.closed) return;
    this.events.connectFailed(this, err);
    this.backOff(err);
  }

  /** Marks the endpoint failing and retries after gRPC's backoff, unless a session serves. */
  private backOff(err: Error): void {
    if (this.usableCount() > 0) return; // an extra session failed; the endpoint still serves.
    const delay = backoffDelay(CONNECT_BACKOFF, ++this.failures, Math.random);
    this.setState('failing', describeError(err));
    if (TRACE.pool)
      this.events.sessionEvent?.(this, 'backoff', { delayMs: delay, failures: this.failures });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  /** @internal the peer's first SETTINGS arrived. */
  sessionReady(s: UpstreamSession): void {
    s.ready = true;
    clearTimeout(s.idleTimer);
    s.idleTimer = undefined;
    this.sessionError = undefined;
    if (this.closed || s.draining || s.gone) return;
    try {
      s.session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    } catch {
      // The session is closing; 'close' follows.
    }
    this.failures = 0;
    this.startKeepalive(s);
    // A session being replaced for its reset budget drains now that its successor is here.
    for (const old of [...this.sessions]) {
      if (old.retiring && old !== s) this.sessionDraining(old, 'replaced for its reset budget');
    }
    if (this.state !== 'ready') this.setState('ready', '');
  }

  /** @internal a session sent a reset: replace it before the peer's limit is near. */
  resetSent(s: UpstreamSession): void {
    const budget = s.resets!;
    if (s.retiring || budget.floor >= budget.limit.burst * RESET_ROTATE_SHARE) return;
    s.retiring = true;
    this.resets.rotations++;
    if (this.mayOpenSession()) void this.connect();
  }

  /** @internal GOAWAY, or a session that refused a stream: finish what runs, take nothing new. */
  sessionDraining(s: UpstreamSession, reason: string): void {
    if (s.draining || s.gone) return;
    s.draining = true;
    if (TRACE.pool)
      this.events.sessionEvent?.(this, 'session draining', { reason, active: s.active });
    if (s.active === 0 && !s.session.closed && !s.session.destroyed) s.session.close();
    if (!this.closed && this.usableCount() === 0) {
      this.setState('connecting', reason);
      if (this.dialing === 0) void this.connect();
    }
  }

  /** @internal */
  sessionIdle(s: UpstreamSession): void {
    if (s.gone) return;
    if (s.draining) {
      if (!s.session.closed && !s.session.destroyed) s.session.close();
      return;
    }
    if (this.options.idleTimeoutMs <= 0 || this.usableCount() <= 1) return;
    clearTimeout(s.idleTimer);
    s.idleTimer = setTimeout(() => {
      s.idleTimer = undefined;
      if (s.active === 0 && this.usableCount() > 1) this.closeSession(s);
    }, this.options.idleTimeoutMs);
    s.idleTimer.unref();
  }

  /** @internal the session's socket failed. */
  socketFailed(s: UpstreamSession, err: Error): void {
    if (s.gone) return;
    if (s.ready && isPeerProtocolError(err)) {
      this.sessionFailed(s, this.protocolError());
      return;
    }
    const early = s.ready
      ? undefined
      : this.options.dialer.explainEarlyFailure?.(this.host.endpoint, err);
    this.sessionFailed(s, early ?? err, false);
  }

  /**
   * @internal the session stopped working: its socket failed, its peer stopped answering, or
   * it broke the protocol. Tears it down; the calls on it fail with `err`. A `broken` endpoint
   * is retried after a backoff; a lost socket at once, as after a close.
   */
  sessionFailed(s: UpstreamSession, err: Error, broken = true): void {
    if (s.gone) return;
    s.failure = err;
    s.broken = broken;
    this.sessionError = err;
    s.session.destroy();
    s.socket.destroy();
    // node:http2 may not emit 'close' for a session it already tore down itself.
    this.sessionClosed(s);
  }

  /** @internal the session is gone (closed by either side, or its socket failed). */
  sessionClosed(s: UpstreamSession): void {
    if (s.gone) return;
    s.gone = true;
    clearTimeout(s.idleTimer);
    s.monitor?.close();
    s.dropDeferred();
    const i = this.sessions.indexOf(s);
    if (i >= 0) this.sessions.splice(i, 1);
    if (this.closed) return;
    if (!s.ready) {
      this.connectFailed(
        s.failure ??
          s.lastError ??
          this.options.dialer.explainEarlyFailure?.(this.host.endpoint, undefined) ??
          new SwitchyardError(
            'SWY_ERR_CONNECT_FAILED',
            `${this.host.key} closed the connection before HTTP/2 SETTINGS`,
          ),
      );
      return;
    }
    if (s.failure !== undefined) this.events.connectionFailed(this, s.failure);
    if (s.broken) {
      if (this.usableCount() === 0 && this.dialing === 0) this.backOff(s.failure!);
      return;
    }
    if (this.usableCount() === 0 && this.dialing === 0) {
      // The endpoint was serving a moment ago: try at once; refusals then back off.
      this.setState(
        'connecting',
        this.sessionError ? describeError(this.sessionError) : 'session closed',
      );
      void this.connect();
    }
  }

  /** @internal the peer answered a PING with GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"). */
  tooManyPings(): void {
    if (this.pingScale >= MAX_PING_SCALE) return;
    this.pingScale *= 2;
    for (const s of this.sessions) if (s.monitor !== undefined) s.monitor.scale = this.pingScale;
  }

  private closeSession(s: UpstreamSession): void {
    s.draining = true;
    clearTimeout(s.idleTimer);
    s.monitor?.close();
    if (!s.session.closed && !s.session.destroyed) s.session.close();
  }

  /** PINGs that find a peer gone silent or a session that broke (see LivenessMonitor). */
  private startKeepalive(s: UpstreamSession): void {
    const monitor = new LivenessMonitor(s, this.options.keepalive, this.clock, (verdict) =>
      this.sessionFailed(s, this.livenessError(verdict)),
    );
    monitor.scale = this.pingScale;
    s.monitor = monitor;
  }

  /** @internal the error a connection's calls fail with when its peer broke the protocol. */
  protocolError(): SwitchyardError {
    return new SwitchyardError(
      'SWY_ERR_UPSTREAM_PROTOCOL',
      `HTTP/2 protocol error from ${this.host.key}: it sent data that is not valid HTTP/2, and the connection was closed with GOAWAY`,
    );
  }

  private livenessError(verdict: LivenessVerdict): SwitchyardError {
    if (verdict.kind === 'stopped') return this.protocolError();
    return new SwitchyardError(
      'SWY_ERR_KEEPALIVE_TIMEOUT',
      `keepalive PING to ${this.host.key} unanswered after ${verdict.afterMs} ms`,
    );
  }
}
