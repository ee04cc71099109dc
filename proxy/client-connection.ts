// One client connection (an HTTP/2 session on a listener) and what the proxy watches on it:
// a liveness PING that finds clients, and sessions, that no longer answer; streams whose client
// takes no response data (reset after a time, and when together they hold more than the
// connection's buffer limit); and closing with a deadline, so a socket never outlives the
// proxy's decision to drop it.
import type { DownstreamConnection } from '../transport/downstream.js';
import { LivenessProbe, type LivenessSettings } from './liveness-probe.js';
import type { ResetLimitConfig } from '../config/types.js';
import { ResetLimiter } from './reset-limiter.js';

/** RST_STREAM / GOAWAY error code ENHANCE_YOUR_CALM (RFC 9113 §7). */
const ENHANCE_YOUR_CALM = 0xb;

/** Why the proxy closed a client connection (a metrics label). */
export type CloseReason = 'handshake_timeout' | 'unresponsive' | 'protocol_error' | 'rapid_reset';

export const CLOSE_REASONS: readonly CloseReason[] = [
  'handshake_timeout',
  'unresponsive',
  'protocol_error',
  'rapid_reset',
];

/** Why the proxy reset a client's stream (a metrics label). */
export type StreamResetReason = 'stalled' | 'buffer_limit';

export const STREAM_RESET_REASONS: readonly StreamResetReason[] = ['stalled', 'buffer_limit'];

/**
 * A stream holding response data its client has not taken (a call whose client is behind).
 * The connection keeps its progress fields: when bytes last reached the client, and how many
 * were still unsent at the last sweep.
 */
export interface BlockedStream {
  /** When bytes last reached the client (`performance.now()`); set on blocking. */
  progressAt: number;
  /** Unsent bytes at the last sweep; -1 before the first. */
  lastUnsent: number;
  /** Response bytes written for the client and not yet sent to it. */
  unsentBytes(): number;
  /** Response bytes the proxy holds for it (read ahead from upstream, and unsent). */
  heldBytes(): number;
  /** Resets the stream (RST_STREAM to the client, the call cancelled upstream). */
  reset(reason: StreamResetReason, message: string): void;
}

/** A call on the connection, linked into its list (no allocation per call). */
export interface ConnectionCall {
  prevCall: ConnectionCall | null;
  nextCall: ConnectionCall | null;
  /** The proxy is going away: end the call now, with UNAVAILABLE and this message. */
  abandon(message: string): void;
}

/** What a connection needs from its listener. */
export interface ConnectionHost {
  /** The listener's settings now (a reload may change them). */
  liveness(): LivenessSettings;
  /** Reset a stream whose client has taken no response data for this long; 0 never. */
  readonly stalledStreamTimeoutMs: number;
  /** Response bytes the streams of one connection may hold for a client that is behind. */
  readonly connectionBufferLimit: number;
  /** Streams a client may reset: a burst, then a rate. */
  readonly resetLimit: ResetLimitConfig;
  /** The client reset a stream (metrics). */
  clientReset(): void;
  /** The proxy ended a connection, and why (metrics, logs). */
  connectionClosed(connection: ClientConnection, reason: CloseReason, detail: string): void;
  /** The proxy reset one of its streams, and why (metrics). */
  streamReset(reason: StreamResetReason): void;
}

export class ClientConnection {
  private readonly probe: LivenessProbe;
  private resets: ResetLimiter | undefined;
  /** Set once the proxy decided to end the connection. */
  closing = false;
  /** Set once the connection is gone. */
  gone = false;
  private readonly onPingAck: () => void;
  /** Calls whose client stream is open, newest first. */
  private calls: ConnectionCall | null = null;
  /** Calls the client started on this connection, and how many of them it reset. */
  private callsStarted = 0;
  private callsReset = 0;
  /** Streams whose client is behind, oldest first. */
  private readonly blocked = new Set<BlockedStream>();
  private lastSweep = 0;

  constructor(
    readonly connection: DownstreamConnection,
    private readonly host: ConnectionHost,
    now: number,
  ) {
    this.probe = new LivenessProbe(now);
    this.onPingAck = () => this.probe.answered(performance.now(), connection.bytesRead());
  }

  /**
   * The client reset a stream the proxy was serving. One reset too many (beyond the listener's
   * burst and rate) drains the connection with GOAWAY(ENHANCE_YOUR_CALM).
   */
  clientReset(now: number): void {
    const host = this.host;
    host.clientReset();
    this.callsReset++;
    if (this.closing) return;
    this.resets ??= new ResetLimiter(host.resetLimit, now);
    if (this.resets.take(now)) return;
    // Past the rate, a client that resets fewer than three in four of the calls it starts is
    // one that cancels a lot (hedging, type-ahead search, deadlines), not a rapid-reset attack,
    // which resets nearly all (Envoy judges premature resets by a ratio too, at one half; a
    // soak that cancels 3 calls in 8 and lets 1 in 8 expire resets one half). Such a client
    // keeps its connection, and each call it does not cancel holds a stream slot until it
    // completes, which bounds how fast it can reset.
    if (this.callsReset * 4 < this.callsStarted * 3) return;
    const { burst, rate } = host.resetLimit;
    this.drain(
      'rapid_reset',
      `the client reset streams faster than allowed (${burst} at once, then ${rate}/s)`,
      ENHANCE_YOUR_CALM,
    );
  }

  /** A call started on the connection. */
  addCall(call: ConnectionCall): void {
    this.callsStarted++;
    call.prevCall = null;
    call.nextCall = this.calls;
    if (this.calls !== null) this.calls.prevCall = call;
    this.calls = call;
  }

  /** Its client stream closed. */
  removeCall(call: ConnectionCall): void {
    if (call.prevCall !== null) call.prevCall.nextCall = call.nextCall;
    else if (this.calls === call) this.calls = call.nextCall;
    else return; // not on the list
    if (call.nextCall !== null) call.nextCall.prevCall = call.prevCall;
    call.prevCall = null;
    call.nextCall = null;
  }

  /** Ends every call still open (the end of the shutdown grace). */
  abandonCalls(message: string): void {
    for (let call = this.calls; call !== null;) {
      const next = call.nextCall;
      call.abandon(message);
      call = next;
    }
  }

  /** A stream's client stopped taking response data. */
  block(stream: BlockedStream): void {
    stream.progressAt = performance.now();
    stream.lastUnsent = -1;
    this.blocked.add(stream);
  }

  /** It took some again, or the stream ended. */
  unblock(stream: BlockedStream): void {
    this.blocked.delete(stream);
  }

  /**
   * One sweep of the listener's timer: reset streams stalled too long or beyond the buffer
   * limit (the newest first), PING a silent client, drop one that does not answer.
   */
  sweep(now: number): void {
    if (this.blocked.size > 0) this.sweepBlocked(now);
    const connection = this.connection;
    // Draining connections (GOAWAY sent) need no PING; the handshake has its own deadline.
    if (this.closing || connection.closing || !connection.handshakeDone) return;
    const probe = this.probe;
    const queued = probe.waiting ? connection.outboundQueued() : 0;
    const settings = this.host.liveness();
    switch (probe.tick(now, connection.bytesRead(), connection.bytesWritten(), queued, settings)) {
      case 'ping':
        connection.ping(this.onPingAck);
        return;
      case 'unanswered':
        this.destroy('unresponsive', `no answer to a PING within ${settings.timeoutMs} ms`);
        return;
      case 'stuck':
        this.destroy(
          'unresponsive',
          `the connection took no frames for ${settings.stuckMs} ms (ended after a protocol error?)`,
        );
        return;
      default:
        return;
    }
  }

  /**
   * A stream that has sent its client nothing for the stall timeout is reset. Beyond the
   * connection's buffer limit, so are the streams that sent nothing since the last sweep,
   * oldest first: a client that reads slowly but reads keeps its streams.
   */
  private sweepBlocked(now: number): void {
    const host = this.host;
    const stallMs = host.stalledStreamTimeoutMs;
    const limit = host.connectionBufferLimit;
    const lastSweep = this.lastSweep;
    this.lastSweep = now;
    let held = 0;
    // Deleting from a Set while iterating it is safe: deleted entries are not visited.
    for (const stream of this.blocked) {
      const unsent = stream.unsentBytes();
      if (stream.lastUnsent >= 0 && unsent < stream.lastUnsent) stream.progressAt = now;
      stream.lastUnsent = unsent;
      let reason: StreamResetReason | undefined;
      if (stallMs > 0 && now - stream.progressAt >= stallMs) reason = 'stalled';
      else {
        held += stream.heldBytes();
        if (held > limit && stream.progressAt <= lastSweep) reason = 'buffer_limit';
      }
      if (reason === undefined) continue;
      this.blocked.delete(stream);
      host.streamReset(reason);
      stream.reset(
        reason,
        reason === 'stalled'
          ? `the client took no response data for ${stallMs} ms`
          : `the client's streams hold more response data than the connection's limit of ${limit} bytes`,
      );
    }
  }

  /** Closes the socket now; its streams end, and their calls are cancelled upstream. */
  destroy(reason: CloseReason, detail: string): void {
    if (this.gone) return;
    this.closing = true;
    this.host.connectionClosed(this, reason, detail);
    this.connection.destroy();
  }

  /**
   * Ends the connection gracefully with GOAWAY(`code`): no new streams, the calls already
   * running finish, and the socket closes after the last one. A client
   * that merely cancels a lot keeps its calls; one that only resets has none left, and is gone.
   */
  drain(reason: CloseReason, detail: string, code: number): void {
    if (this.closing || this.gone) return;
    this.closing = true;
    this.host.connectionClosed(this, reason, detail);
    this.connection.drain(code);
  }
}
