// Finds upstream connections that stopped working without saying so: PINGs when a connection
// with calls goes quiet or an idle one has been quiet for long, a deadline on every PING, and a
// check that our own HTTP/2 layer still writes at all.
import type { Clock, TimerHandle } from '../common/clock.js';

/** The connection a monitor watches (one upstream HTTP/2 session and its socket). */
export interface LivenessTarget {
  /** Bytes received on the connection so far; -1 when the socket does not count them. */
  bytesRead(): number;
  /** Bytes handed to the socket so far; -1 when the socket does not count them. */
  bytesWritten(): number;
  /** True while the socket holds bytes it could not write yet (or cannot tell). */
  writePending(): boolean;
  /** Streams open on the connection now. */
  readonly streams: number;
  /**
   * Sends a PING; `onAck` runs when the peer acknowledges it. False when it could not be sent
   * (the session is closing, or too many PINGs are outstanding).
   */
  ping(onAck: () => void): boolean;
}

export interface LivenessSettings {
  /** Least time between PINGs on a connection carrying calls; 0 turns PINGs with calls off. */
  readonly timeMs: number;
  /** A PING unanswered this long means the connection is dead. */
  readonly timeoutMs: number;
  /** PING interval on a connection without calls; 0 turns idle PINGs off. */
  readonly idleTimeMs: number;
}

export type LivenessVerdict =
  /** The PING went out and no answer came within the timeout. */
  | { readonly kind: 'unanswered'; readonly afterMs: number }
  /** The PING never left: the HTTP/2 layer stopped writing (it does after a protocol error). */
  | { readonly kind: 'stopped' };

/**
 * A connection carrying calls that has received nothing for this long gets a PING (at most one
 * per `timeMs`): a hung or broken peer is found within about a second plus the PING timeout,
 * while a connection that keeps receiving frames is never pinged at all.
 */
export const QUIET_MS = 1_000;
/**
 * How long a PING may wait for our own HTTP/2 layer to write it while the socket has room.
 * node:http2 writes within the same turn of the event loop; a session that received bytes that
 * break the protocol sends GOAWAY and then writes nothing more, with no 'error' or 'close'.
 */
export const STOPPED_CHECK_MS = 100;

/**
 * Watches one connection. Reads two byte counters once per tick (no per-frame work), so it
 * costs nothing on the call path. `onDead` runs at most once; `close()` stops everything.
 */
export class LivenessMonitor {
  private tickTimer: TimerHandle | undefined;
  private pingTimer: TimerHandle | undefined;
  private checkTimer: TimerHandle | undefined;
  private lastRead = -1;
  private lastReadAt: number;
  private lastPingAt = -Infinity;
  private pingSentAt = -1;
  private writtenBeforePing = -1;
  private closed = false;
  /** Stretches every interval (×2 per `too_many_pings` the peer sent), as gRPC clients do. */
  scale = 1;

  constructor(
    private readonly target: LivenessTarget,
    private readonly settings: LivenessSettings,
    private readonly clock: Clock,
    private readonly onDead: (verdict: LivenessVerdict) => void,
  ) {
    this.lastRead = target.bytesRead();
    this.lastReadAt = clock.now();
    this.armTick();
  }

  /** The PING waiting for its answer, if any, was sent at this clock time (-1: none). */
  get pingOutstandingSince(): number {
    return this.pingSentAt;
  }

  close(): void {
    this.closed = true;
    for (const t of [this.tickTimer, this.pingTimer, this.checkTimer]) {
      if (t !== undefined) this.clock.clearTimeout(t);
    }
    this.tickTimer = this.pingTimer = this.checkTimer = undefined;
  }

  /** One tick: twice per QUIET_MS, more often when the settings are shorter. */
  private tickMs(): number {
    const { timeMs, idleTimeMs, timeoutMs } = this.settings;
    let ms = QUIET_MS / 2;
    if (timeMs > 0) ms = Math.min(ms, timeMs * this.scale);
    if (idleTimeMs > 0) ms = Math.min(ms, idleTimeMs * this.scale);
    return Math.max(10, Math.min(ms, timeoutMs));
  }

  private armTick(): void {
    if (this.closed) return;
    this.tickTimer = this.clock.setTimeout(() => {
      this.tickTimer = undefined;
      this.tick();
      this.armTick();
    }, this.tickMs());
  }

  private tick(): void {
    const now = this.clock.now();
    const read = this.target.bytesRead();
    if (read !== this.lastRead) {
      this.lastRead = read;
      this.lastReadAt = now;
    }
    if (this.pingSentAt >= 0) return;
    const { timeMs, idleTimeMs } = this.settings;
    const quietFor = now - this.lastReadAt;
    const sincePing = now - this.lastPingAt;
    if (this.target.streams > 0) {
      // Without byte counts every tick counts as quiet: PINGs then come every timeMs.
      const quiet = read < 0 || quietFor >= Math.min(QUIET_MS, timeMs * this.scale);
      if (timeMs > 0 && quiet && sincePing >= timeMs * this.scale) this.sendPing(now);
    } else if (idleTimeMs > 0) {
      const interval = idleTimeMs * this.scale;
      if ((read < 0 || quietFor >= interval) && sincePing >= interval) this.sendPing(now);
    }
  }

  private sendPing(now: number): void {
    this.lastPingAt = now;
    this.pingSentAt = now;
    this.writtenBeforePing = this.target.bytesWritten();
    const sent = this.target.ping(() => this.acknowledged());
    if (!sent) {
      this.pingSentAt = -1;
      return;
    }
    const timeoutMs = this.settings.timeoutMs;
    this.pingTimer = this.clock.setTimeout(() => {
      this.pingTimer = undefined;
      this.dead({ kind: 'unanswered', afterMs: timeoutMs });
    }, timeoutMs);
    if (this.writtenBeforePing >= 0) {
      this.checkTimer = this.clock.setTimeout(() => {
        this.checkTimer = undefined;
        this.checkWritten();
      }, STOPPED_CHECK_MS);
    }
  }

  /** The PING is still unanswered: did it leave at all? */
  private checkWritten(): void {
    if (this.pingSentAt < 0 || this.closed) return;
    if (this.target.bytesWritten() !== this.writtenBeforePing) return;
    if (this.target.writePending()) return; // the socket is backed up: the PING timeout decides
    this.dead({ kind: 'stopped' });
  }

  private acknowledged(): void {
    if (this.closed) return;
    this.pingSentAt = -1;
    this.lastRead = this.target.bytesRead();
    this.lastReadAt = this.clock.now();
    if (this.pingTimer !== undefined) this.clock.clearTimeout(this.pingTimer);
    if (this.checkTimer !== undefined) this.clock.clearTimeout(this.checkTimer);
    this.pingTimer = this.checkTimer = undefined;
  }

  private dead(verdict: LivenessVerdict): void {
    if (this.closed) return;
    this.close();
    this.onDead(verdict);
  }
}
