// The upstream HTTP/2 sessions to one endpoint: connect with backoff, multiplex, open another
// session at the peer's stream limit, drain on GOAWAY, close idle extras, keepalive PINGs.
import http2 from 'node:http2';
import type { Host, Connectivity } from '../balancer/host.js';
import type { KeepaliveConfig } from '../config/types.js';
import { backoffDelay, type BackoffPolicy } from '../resolver/backoff.js';
import type { Dialer } from './dialer.js';
import { describeError } from './errors.js';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from './flow-control.js';

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
}

/** What the pool tells its cluster. Called asynchronously, never from `acquire()`. */
export interface PoolEvents {
  connectivityChanged(pool: EndpointPool, state: Connectivity, reason: string): void;
  /** A connect attempt failed; the cluster may ask its resolver for fresh endpoints. */
  connectFailed(pool: EndpointPool, error: Error): void;
}

/** gRPC's connection backoff: 1 s, ×1.6 per failure, at most 30 s (20 % jitter, which gRPC also uses). */
const CONNECT_BACKOFF: BackoffPolicy = {
  initialMs: 1_000,
  maxMs: 30_000,
  multiplier: 1.6,
  jitter: 0.2,
};

/** One HTTP/2 session to the endpoint and its stream accounting. */
export class UpstreamSession {
  /** Streams opened and not yet closed. */
  active = 0;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  maxStreams = 100;
  /** The peer's SETTINGS_MAX_HEADER_LIST_SIZE: larger request headers are not sent to it. */
  maxHeaderListSize = Infinity;
  /** No new streams: GOAWAY received, or the pool is closing. */
  draining = false;
  idleTimer: NodeJS.Timeout | undefined = undefined;
  pingTimer: NodeJS.Timeout | undefined = undefined;
  /** Set once the peer's first SETTINGS arrived: the session can take streams. */
  ready = false;

  constructor(
    readonly pool: EndpointPool,
    readonly session: http2.ClientHttp2Session,
  ) {}

  /** A stream on this session closed. */
  release(): void {
    this.active--;
    if (this.active === 0) this.pool.sessionIdle(this);
  }
}

// Shared handlers (no per-session closures): the session object carries its UpstreamSession.
const kSession = Symbol('switchyard.upstreamSession');
type TaggedSession = http2.ClientHttp2Session & { [kSession]: UpstreamSession };

function onRemoteSettings(this: TaggedSession, settings: http2.Settings) {
  const s = this[kSession];
  s.maxStreams = settings.maxConcurrentStreams ?? 4294967295;
  s.maxHeaderListSize = settings.maxHeaderListSize ?? Infinity;
  if (!s.ready) s.pool.sessionReady(s);
}
function onGoaway(this: TaggedSession) {
  const s = this[kSession];
  s.pool.sessionDraining(s, 'upstream sent GOAWAY');
}
function onSessionClose(this: TaggedSession) {
  const s = this[kSession];
  s.pool.sessionClosed(s);
}
function onSessionError(this: TaggedSession, err: Error) {
  this[kSession].pool.sessionError = err;
}

export class EndpointPool {
  private readonly sessions: UpstreamSession[] = [];
  private dialing = 0;
  private state: Connectivity = 'idle';
  /** Connect failures in a row, for the backoff. */
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The last error seen on a session, for the status message of calls it breaks. */
  sessionError: Error | undefined;
  readonly authority: string;

  constructor(
    readonly host: Host,
    private readonly options: PoolOptions,
    private readonly events: PoolEvents,
  ) {
    this.authority = host.key;
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
      if (s.active < s.maxStreams) {
        if (s.idleTimer !== undefined) {
          clearTimeout(s.idleTimer);
          s.idleTimer = undefined;
        }
        return s;
      }
      if (best === null || s.active < best.active) best = s;
    }
    // Every session is at the peer's limit: open one more; meanwhile nghttp2 queues the
    // stream on the least busy session until one of its streams ends.
    if (best !== null && this.dialing === 0 && this.sessions.length < this.options.maxSessions) {
      void this.connect();
    }
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

  private usableCount(): number {
    let n = 0;
    for (const s of this.sessions) if (s.ready && !s.draining) n++;
    return n;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    this.dialing++;
    if (this.usableCount() === 0 && this.state !== 'connecting') this.setState('connecting', '');
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
    const s = new UpstreamSession(this, session);
    session[kSession] = s;
    this.sessions.push(s);
    session.on('remoteSettings', onRemoteSettings);
    session.on('goaway', onGoaway);
    session.on('close', onSessionClose);
    session.on('error', onSessionError);
    // A peer that accepts TCP but never speaks HTTP/2 must not hold the endpoint.
    s.idleTimer = setTimeout(() => {
      if (!s.ready) {
        this.sessionError = new Error(
          `no HTTP/2 SETTINGS from ${this.host.key} within ${this.options.connectTimeoutMs} ms`,
        );
        session.destroy();
      }
    }, this.options.connectTimeoutMs);
    s.idleTimer.unref();
  }

  private connectFailed(err: Error): void {
    if (this.closed) return;
    this.events.connectFailed(this, err);
    if (this.usableCount() > 0) return; // an extra session failed; the endpoint still serves.
    const delay = backoffDelay(CONNECT_BACKOFF, ++this.failures, Math.random);
    this.setState('failing', describeError(err));
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
    if (this.closed || s.draining) return;
    try {
      s.session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    } catch {
      // The session is closing; 'close' follows.
    }
    this.failures = 0;
    this.startKeepalive(s);
    if (this.state !== 'ready') this.setState('ready', '');
  }

  /** @internal GOAWAY: finish what runs, take nothing new, replace the session. */
  sessionDraining(s: UpstreamSession, reason: string): void {
    if (s.draining) return;
    s.draining = true;
    if (s.active === 0) s.session.close();
    if (!this.closed && this.usableCount() === 0) {
      this.setState('connecting', reason);
      if (this.dialing === 0) void this.connect();
    }
  }

  /** @internal */
  sessionIdle(s: UpstreamSession): void {
    if (s.draining) {
      s.session.close();
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

  /** @internal the session is gone (closed by either side, or its socket failed). */
  sessionClosed(s: UpstreamSession): void {
    clearTimeout(s.idleTimer);
    clearInterval(s.pingTimer);
    const i = this.sessions.indexOf(s);
    if (i >= 0) this.sessions.splice(i, 1);
    if (this.closed) return;
    if (!s.ready) {
      this.connectFailed(
        this.sessionError ??
          new Error(`${this.host.key} closed the connection before HTTP/2 SETTINGS`),
      );
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

  private closeSession(s: UpstreamSession): void {
    s.draining = true;
    clearTimeout(s.idleTimer);
    clearInterval(s.pingTimer);
    if (!s.session.closed) s.session.close();
  }

  /** PINGs while streams are open, so a dead peer fails its calls instead of hanging them. */
  private startKeepalive(s: UpstreamSession): void {
    const { timeMs, timeoutMs } = this.options.keepalive;
    if (timeMs <= 0) return;
    s.pingTimer = setInterval(() => {
      if (s.active === 0 || s.session.closed || s.session.destroyed) return;
      const timer = setTimeout(() => {
        this.sessionError = new Error(
          `keepalive PING to ${this.host.key} unanswered after ${timeoutMs} ms`,
        );
        s.session.destroy();
      }, timeoutMs);
      timer.unref();
      try {
        s.session.ping((err) => {
          clearTimeout(timer);
          if (err && !s.session.destroyed) {
            this.sessionError = err;
            s.session.destroy();
          }
        });
      } catch {
        clearTimeout(timer);
      }
    }, timeMs);
    s.pingTimer.unref();
  }
}
