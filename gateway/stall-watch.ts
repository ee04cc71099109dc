// Gateway responses whose client stopped reading. A REST or gRPC-Web stream whose client falls
// behind pauses its upstream call (backpressure); one whose client takes nothing at all for the
// listener's stalledStreamTimeout is cut, and its call cancelled upstream, as the data path does
// for gRPC streams (proxy/client-connection.ts). Without it, a client that never reads holds an
// upstream stream until the call's deadline, or for ever when it has none.
import type { Clock, TimerHandle } from '../common/clock.js';

/** What the watch needs of its listener. */
export interface StallHost {
  /** The listener's stall timeout now (a reload may change it); 0: never cut. */
  readonly stalledStreamTimeoutMs: number;
  /** The proxy cut a response whose client took nothing for the timeout (metrics). */
  streamReset(reason: 'stalled'): void;
}

/** A response waiting on its client. */
export interface WaitingResponse {
  /**
   * Response bytes written and not yet taken by the client. It falls as the client reads; its
   * granularity is the transport's (HTTP/2 frames; on HTTP/1.1 whole writes, one per message).
   */
  unsentBytes(): number;
  /** Ends the response at once: the HTTP/2 stream is reset, the HTTP/1.1 connection closed. */
  cut(): void;
}

interface Progress {
  /** When the client last took bytes (the clock's ms); set when it fell behind. */
  at: number;
  /** Unsent bytes at the last look. */
  unsent: number;
}

/** How often the watch looks: as the listener's sweep, a quarter of the timeout, 50 ms to 1 s. */
function lookInterval(stallMs: number): number {
  return Math.max(50, Math.min(1_000, Math.floor(stallMs / 4)));
}

/**
 * One per gateway (so per listener). It keeps only responses whose client is behind, and runs a
 * timer only while there is one: a gateway whose clients keep up pays a Map insert and delete
 * per stall, nothing per message.
 */
export class StallWatch {
  private readonly waiting = new Map<WaitingResponse, Progress>();
  private timer: TimerHandle | undefined;
  private readonly look = () => this.lookAll();

  constructor(
    private readonly host: StallHost,
    private readonly clock: Clock,
  ) {}

  /** How many responses wait on their client now. */
  get size(): number {
    return this.waiting.size;
  }

  /** `response`'s client is behind: watch it until `caughtUp` (or until it is cut). */
  behind(response: WaitingResponse): void {
    const stallMs = this.host.stalledStreamTimeoutMs;
    if (stallMs <= 0 || this.waiting.has(response)) return;
    this.waiting.set(response, { at: this.clock.now(), unsent: response.unsentBytes() });
    this.timer ??= this.clock.setTimeout(this.look, lookInterval(stallMs));
  }

  /** Its client caught up, or the response ended: no longer watched. */
  caughtUp(response: WaitingResponse): void {
    if (!this.waiting.delete(response) || this.waiting.size > 0) return;
    this.stopTimer();
  }

  private lookAll(): void {
    this.timer = undefined;
    const stallMs = this.host.stalledStreamTimeoutMs;
    if (stallMs <= 0) {
      // A reload turned the timeout off: nothing waiting is cut any more.
      this.waiting.clear();
      return;
    }
    const now = this.clock.now();
    // Deleting from a Map while iterating it is safe: deleted entries are not visited.
    for (const [response, progress] of this.waiting) {
      const unsent = response.unsentBytes();
      if (unsent < progress.unsent) progress.at = now;
      progress.unsent = unsent;
      if (now - progress.at < stallMs) continue;
      this.waiting.delete(response);
      this.host.streamReset('stalled');
      response.cut();
    }
    if (this.waiting.size > 0) this.timer = this.clock.setTimeout(this.look, lookInterval(stallMs));
  }

  private stopTimer(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
