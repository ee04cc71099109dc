// When to PING a client connection and when to give up on it: a state machine fed with the
// time and the connection's byte counters at each sweep, so tests can drive it step by step.
//
// A client that has sent nothing for `silenceMs` gets one PING. It must answer within
// `timeoutMs`; anything it sends meanwhile counts as an answer too (a PING ACK may queue behind
// other frames). Once answered, silence is left alone until the client sends again: idle
// clients get one PING per quiet spell, not one every few seconds. A PING that cannot even be
// written within `stuckMs` means the connection takes no more frames: after a protocol error
// nghttp2 sends GOAWAY, stops reading and writing, and tells nobody; this is how that is seen.

export interface LivenessSettings {
  /** PING after this long without a byte from the client; 0 never. */
  readonly silenceMs: number;
  /** Give up when the PING is not answered in this long. */
  readonly timeoutMs: number;
  /** Give up when the PING has not left (nothing written, still queued) in this long. */
  readonly stuckMs: number;
}

/** What the connection should do now. */
export type LivenessVerdict = 'ping' | 'unanswered' | 'stuck' | undefined;

export class LivenessProbe {
  private lastRead = -1;
  private quietSince: number;
  /** When the outstanding PING was queued; -1 when none is. */
  private pingAt = -1;
  private writtenAtPing = 0;
  /** The last PING was answered and the client has sent nothing since. */
  private rested = false;

  constructor(now: number) {
    this.quietSince = now;
  }

  /** Whether a PING is outstanding (the caller then passes the real queue length). */
  get waiting(): boolean {
    return this.pingAt >= 0;
  }

  /**
   * One sweep. `bytesRead` / `bytesWritten` are the socket's counters; `queued` the frames
   * the HTTP/2 layer holds unsent (only read while `waiting`).
   */
  tick(
    now: number,
    bytesRead: number,
    bytesWritten: number,
    queued: number,
    settings: LivenessSettings,
  ): LivenessVerdict {
    if (this.lastRead < 0) this.lastRead = bytesRead;
    else if (bytesRead !== this.lastRead) {
      this.lastRead = bytesRead;
      this.quietSince = now;
      this.rested = false;
      // The client is talking: it is alive, whatever became of the PING.
      if (this.pingAt >= 0) this.pingAt = -1;
      return undefined;
    }
    if (this.pingAt >= 0) {
      const waited = now - this.pingAt;
      if (waited >= settings.timeoutMs) return 'unanswered';
      if (waited >= settings.stuckMs && queued > 0 && bytesWritten === this.writtenAtPing) {
        return 'stuck';
      }
      return undefined;
    }
    if (this.rested || settings.silenceMs <= 0 || now - this.quietSince < settings.silenceMs) {
      return undefined;
    }
    this.pingAt = now;
    this.writtenAtPing = bytesWritten;
    return 'ping';
  }

  /** The PING was acknowledged; `bytesRead` includes the acknowledgement. */
  answered(now: number, bytesRead: number): void {
    if (this.pingAt < 0) return;
    this.pingAt = -1;
    this.lastRead = bytesRead;
    this.quietSince = now;
    this.rested = true;
  }
}
