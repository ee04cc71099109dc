// The upstream HTTP/2 sessions to one endpoint: connect with backoff, multiplex, open another
// session at the peer's stream limit or reset budget, drain on GOAWAY, close idle extras, and
// close connections that stopped working (unanswered PINGs, protocol errors, socket errors).
import type { Host, Connectivity } from '../balancer/host.js';
import type { KeepaliveConfig } from '../config/types.js';
import { backoffDelay, type BackoffPolicy } from '../common/backoff.js';
import { TRACE } from '../common/trace.js';
import { systemClock, type Clock, type TimerHandle } from '../common/clock.js';
import type { Dialer } from './dialer.js';
import { SwitchyardError, describeError } from '../common/errors.js';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from './flow-control.js';
import { LivenessMonitor, type LivenessTarget, type LivenessVerdict } from './liveness-monitor.js';
import { ResetBudget, type ResetLimit } from './reset-budget.js';
import type { HeaderFields } from '../transport/header-fields.js';
import type {
  UpstreamConnection,
  UpstreamConnectionEvents,
  UpstreamLocalSettings,
  UpstreamHandler,
  UpstreamSettings,
  UpstreamStream,
  UpstreamTransport,
} from '../transport/upstream.js';
import { h2Transport } from '../transport/h2/upstream.js';

export interface PoolOptions {
  readonly dialer: Dialer;
  readonly connectTimeoutMs: number;
  readonly keepalive: KeepaliveConfig;
  /** Extra sessions (beyond the first) close after this long without streams. */
  readonly idleTimeoutMs: number;
  /** Sessions one endpoint may have open at once. */
  readonly maxSessions: number;
  /** Local SETTINGS for upstream sessions. */
  readonly settings: UpstreamLocalSettings;
  /** The endpoint's rapid-reset limit, kept per session (see ResetBudget). */
  readonly resetLimit?: ResetLimit;
  /** Time for timers, keepalive PINGs and the reset budget; the system clock by default. */
  readonly clock?: Clock;
  /** Jitter for the connect backoff; `Math.random` by default. */
  readonly random?: () => number;
  /** HTTP/2 on the dialed sockets; node:http2 by default. */
  readonly transport?: UpstreamTransport;
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
/** GOAWAY's ENHANCE_YOUR_CALM (RFC 9113 §7). */
const ENHANCE_YOUR_CALM = 0xb;
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

/**
 * One upstream connection of the pool and what the pool keeps about it. The connection counts
 * its own streams; callers open and cancel streams through this record so that the pool sees
 * refusals and resets.
 */
export class UpstreamSession implements LivenessTarget, UpstreamConnectionEvents {
  /** No new streams: GOAWAY received, or the pool is closing. */
  draining = false;
  idleTimer: TimerHandle | undefined = undefined;
  /** Set once the peer's first SETTINGS arrived: the session can take streams. */
  ready = false;
  /** Set once the pool has let go of the session (closed, destroyed or broken). */
  gone = false;
  /** Why the session was torn down, when it broke rather than closed. */
  failure: Error | undefined = undefined;
  /** The last error the transport reported on the session. */
  lastError: Error | undefined = undefined;
  /** The failure says the endpoint misbehaves (not just a lost socket): reconnect with backoff. */
  broken = false;
  monitor: LivenessMonitor | undefined = undefined;
  /** A fresh session is being opened to take over; this one drains once that one is ready. */
  retiring = false;
  /** Set right after connecting; every event comes later. */
  connection!: UpstreamConnection;
  /** Streams whose reset waits for the budget to grow back, and the timer that retries them. */
  private deferred: UpstreamStream[] | null = null;
  private deferredTimer: TimerHandle | undefined = undefined;

  constructor(
    readonly pool: EndpointPool,
    /** What the peer's rapid-reset protection still allows; undefined when not counted. */
    readonly resets: ResetBudget | undefined,
    private readonly clock: Clock,
  ) {}

  /** Streams opened and not yet closed. */
  get active(): number {
    return this.connection.activeStreams;
  }

  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  get maxStreams(): number {
    return this.connection.maxStreams;
  }

  /** The peer's SETTINGS_MAX_HEADER_LIST_SIZE: larger request headers are not sent to it. */
  get maxHeaderListSize(): number {
    return this.connection.maxHeaderListSize;
  }

  /**
   * Opens a stream. Null when the connection turned out unable to take one (it then drains and
   * the caller tries elsewhere: nothing was sent); an Error when it refused these headers.
   */
  open(headers: HeaderFields, handler: UpstreamHandler): UpstreamStream | Error | null {
    const stream = this.connection.openStream(headers, handler);
    if (stream === null) this.pool.sessionDraining(this, 'the connection refused a new stream');
    return stream;
  }

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
  cancel(stream: UpstreamStream): void {
    if (!stream.open) {
      stream.cancel();
      return;
    }
    const budget = this.resets;
    if (budget === undefined) {
      stream.cancel();
      this.pool.resets.sent++;
      return;
    }
    if (budget.take()) {
      stream.cancel();
      this.pool.resets.sent++;
      this.pool.resetSent(this);
      return;
    }
    this.pool.resets.deferred++;
    stream.discard();
    (this.deferred ??= []).push(stream);
    if (this.deferredTimer === undefined) {
      this.deferredTimer = this.clock.setTimeout(
        () => this.retryDeferred(),
        DEFERRED_RESET_RETRY_MS,
      );
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
      if (!stream.open) continue;
      if (!this.resets!.take()) break;
      stream.cancel();
      this.pool.resets.sent++;
    }
    queue.splice(0, i);
    if (queue.length === 0) this.deferred = null;
    else {
      this.deferredTimer = this.clock.setTimeout(
        () => this.retryDeferred(),
        DEFERRED_RESET_RETRY_MS,
      );
    }
  }

  /** @internal the session is gone: nothing left to reset. */
  dropDeferred(): void {
    if (this.deferredTimer !== undefined) this.clock.clearTimeout(this.deferredTimer);
    this.deferredTimer = undefined;
    this.deferred = null;
  }

  // UpstreamConnectionEvents

  settings(_connection: UpstreamConnection, _settings: UpstreamSettings): void {
    if (!this.ready) this.pool.sessionReady(this);
  }

  goaway(_connection: UpstreamConnection, code: number, data: Buffer | undefined): void {
    if (code === ENHANCE_YOUR_CALM && data !== undefined && data.equals(TOO_MANY_PINGS)) {
      this.pool.tooManyPings();
    }
    this.pool.sessionDraining(this, 'upstream sent GOAWAY');
  }

  error(
    _connection: UpstreamConnection,
    err: Error,
    source: 'session' | 'socket',
    protocol: boolean,
  ): void {
    if (source === 'socket') {
      this.pool.socketFailed(this, err, protocol);
      return;
    }
    this.lastError = err;
    this.pool.sessionError = err;
    // Invalid HTTP/2 from the peer: the endpoint misbehaves; it is retried after a backoff,
    // not at once as after a lost socket.
    if (protocol && this.ready) this.pool.sessionFailed(this, this.pool.protocolError());
  }

  idle(_connection: UpstreamConnection): void {
    this.pool.sessionIdle(this);
  }

  closed(_connection: UpstreamConnection): void {
    this.pool.sessionClosed(this);
  }

  // LivenessTarget

  get streams(): number {
    return this.connection.activeStreams;
  }

  bytesRead(): number {
    return this.connection.bytesRead();
  }

  bytesWritten(): number {
    return this.connection.bytesWritten();
  }

  writePending(): boolean {
    return this.connection.writePending();
  }

  ping(onAck: () => void): boolean {
    return this.connection.ping(onAck);
  }
}

/** Cancels an upstream stream through its session's reset budget (see UpstreamSession.cancel). */
export function cancelUpstream(session: UpstreamSession | null, stream: UpstreamStream): void {
  if (session !== null) session.cancel(stream);
  else stream.cancel();
}

export class EndpointPool {
  private readonly sessions: UpstreamSession[] = [];
  private dialing = 0;
  private state: Connectivity = 'idle';
  /** Connect failures in a row, for the backoff. */
  private failures = 0;
  private retryTimer: TimerHandle | undefined;
  private closed = false;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly transport: UpstreamTransport;
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
    this.random = options.random ?? Math.random;
    this.transport = options.transport ?? h2Transport;
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
          this.clock.clearTimeout(s.idleTimer);
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
    this.clearRetryTimer();
    for (const s of [...this.sessions]) this.closeSession(s);
  }

  /** Closes everything now; streams still open are reset. */
  destroy(): void {
    this.close();
    for (const s of [...this.sessions]) s.connection.destroy();
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
    const limit = this.options.resetLimit;
    const budget =
      limit !== undefined && limit.burst > 0 ? new ResetBudget(limit, this.clock) : undefined;
    const s = new UpstreamSession(this, budget, this.clock);
    s.connection = this.transport.connect(
      socket,
      {
        scheme: this.scheme,
        authority: this.authority,
        streamWindowBytes: STREAM_WINDOW_BYTES,
        connectionWindowBytes: CONNECTION_WINDOW_BYTES,
        settings: this.options.settings,
      },
      s,
    );
    this.sessions.push(s);
    // A peer that accepts TCP but never speaks HTTP/2 must not hold the endpoint.
    s.idleTimer = this.clock.setTimeout(() => {
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
  }

  private connectFailed(err: Error): void {
    if (this.closed) return;
    this.events.connectFailed(this, err);
    this.backOff(err);
  }

  /** Marks the endpoint failing and retries after gRPC's backoff, unless a session serves. */
  private backOff(err: Error): void {
    if (this.usableCount() > 0) return; // an extra session failed; the endpoint still serves.
    const delay = backoffDelay(CONNECT_BACKOFF, ++this.failures, this.random);
    this.setState('failing', describeError(err));
    if (TRACE.pool)
      this.events.sessionEvent?.(this, 'backoff', { delayMs: delay, failures: this.failures });
    this.clearRetryTimer();
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  private clearRetryTimer(): void {
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private clearIdleTimer(s: UpstreamSession): void {
    if (s.idleTimer !== undefined) this.clock.clearTimeout(s.idleTimer);
    s.idleTimer = undefined;
  }

  /** @internal the peer's first SETTINGS arrived. */
  sessionReady(s: UpstreamSession): void {
    s.ready = true;
    this.clearIdleTimer(s);
    this.sessionError = undefined;
    if (this.closed || s.draining || s.gone) return;
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
    if (s.active === 0) s.connection.close();
    if (!this.closed && this.usableCount() === 0) {
      this.setState('connecting', reason);
      if (this.dialing === 0) void this.connect();
    }
  }

  /** @internal */
  sessionIdle(s: UpstreamSession): void {
    if (s.gone) return;
    if (s.draining) {
      s.connection.close();
      return;
    }
    if (this.options.idleTimeoutMs <= 0 || this.usableCount() <= 1) return;
    this.clearIdleTimer(s);
    s.idleTimer = this.clock.setTimeout(() => {
      s.idleTimer = undefined;
      if (s.active === 0 && this.usableCount() > 1) this.closeSession(s);
    }, this.options.idleTimeoutMs);
  }

  /** @internal the session's socket failed. */
  socketFailed(s: UpstreamSession, err: Error, protocol: boolean): void {
    if (s.gone) return;
    // Invalid HTTP/2 from a serving peer, reported on the socket first (Node 22 and later).
    if (s.ready && protocol) {
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
    s.connection.destroy();
    // node:http2 may not emit 'close' for a session it already tore down itself.
    this.sessionClosed(s);
  }

  /** @internal the session is gone (closed by either side, or its socket failed). */
  sessionClosed(s: UpstreamSession): void {
    if (s.gone) return;
    s.gone = true;
    this.clearIdleTimer(s);
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
    if (this.usableCount() > 0) return;
    // No connection can take a stream now, so the endpoint must not look ready even while its
    // next connection is on the way: a ready endpoint with nothing to acquire made calls burn
    // their attempts back to back and fail, where they should wait for that connection.
    const pending = this.dialing > 0 || this.sessions.some((x) => !x.ready && !x.draining);
    if (s.broken) {
      if (pending) this.setState('connecting', describeError(s.failure!));
      else this.backOff(s.failure!);
      return;
    }
    // The endpoint was serving a moment ago: try at once; refusals then back off.
    this.setState(
      'connecting',
      this.sessionError ? describeError(this.sessionError) : 'session closed',
    );
    if (!pending) void this.connect();
  }

  /** @internal the peer answered a PING with GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"). */
  tooManyPings(): void {
    if (this.pingScale >= MAX_PING_SCALE) return;
    this.pingScale *= 2;
    for (const s of this.sessions) if (s.monitor !== undefined) s.monitor.scale = this.pingScale;
  }

  private closeSession(s: UpstreamSession): void {
    s.draining = true;
    this.clearIdleTimer(s);
    s.monitor?.close();
    s.connection.close();
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
