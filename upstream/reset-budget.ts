// The RST_STREAM frames one upstream connection may still send before the peer's rapid-reset
// protection closes it: a token bucket that mirrors the peer's, erring on the peer's side.
import type { Clock } from '../common/clock.js';

/** A peer's limit on the RST_STREAM frames it accepts on one connection. */
export interface ResetLimit {
  /** Resets accepted in a burst; 0 turns the accounting off. */
  readonly burst: number;
  /** Resets per second the allowance grows back by, up to `burst`. */
  readonly rate: number;
}

/**
 * nghttp2 (>= 1.57) keeps, per server connection, a bucket of `burst` tokens that every
 * RST_STREAM it receives drains by one and that refills by `rate` at each second boundary of
 * its integer-second clock; when a reset finds it empty, the server sends GOAWAY(INTERNAL_ERROR),
 * which Node's client answers by destroying the session and every call on it.
 *
 * This bucket errs on the peer's side. It starts full, as the peer's; its refills come one
 * whole second apart, counted from the first reset taken from a full bucket, so each comes no
 * sooner than the peer's matching one (whose second boundaries may come sooner, never later).
 * And it never hands out its last `keep` tokens (2 % of the burst), for resets the pool does not
 * see and for a peer whose clock runs a little behind.
 */
export class ResetBudget {
  private tokens: number;
  private refilledAt: number;
  private readonly keep: number;

  constructor(
    readonly limit: ResetLimit,
    private readonly clock: Clock,
  ) {
    this.tokens = limit.burst;
    this.refilledAt = clock.now();
    this.keep = Math.ceil(limit.burst * 0.02);
  }

  /**
   * Tokens as of the last refill: a lower bound of `available()` that needs no clock read,
   * for the per-call check.
   */
  get floor(): number {
    return this.tokens;
  }

  /** Tokens now. */
  available(): number {
    const now = this.clock.now();
    const burst = this.limit.burst;
    if (this.tokens >= burst) {
      this.refilledAt = now;
      return this.tokens;
    }
    const seconds = Math.floor((now - this.refilledAt) / 1_000);
    if (seconds > 0) {
      this.tokens = Math.min(burst, this.tokens + seconds * this.limit.rate);
      this.refilledAt = this.tokens >= burst ? now : this.refilledAt + seconds * 1_000;
    }
    return this.tokens;
  }

  /** Spends one token for a reset; false (nothing spent) when too few are left. */
  take(): boolean {
    // Refills are counted from the first reset out of a full bucket.
    if (this.tokens >= this.limit.burst) this.refilledAt = this.clock.now();
    else if (this.tokens - 1 < this.keep && this.available() - 1 < this.keep) return false;
    this.tokens--;
    return true;
  }
}
