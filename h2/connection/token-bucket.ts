// A token bucket for flood limits: a burst the peer may spend at once, refilled at a rate.
import type { H2Clock } from './clock.js';

/** How many of something a peer may send: `burst` at once, then `ratePerSecond`. */
export interface RateLimit {
  readonly burst: number;
  readonly ratePerSecond: number;
}

/**
 * Counts events against a limit. Refilled lazily from the clock on each `take()`, so an idle
 * connection costs nothing (no timer).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly burst: number;
  private readonly perMs: number;

  constructor(
    limit: RateLimit,
    private readonly clock: H2Clock,
  ) {
    if (!(limit.burst >= 1) || !(limit.ratePerSecond >= 0)) {
      throw new RangeError(
        `a rate limit needs burst >= 1 and ratePerSecond >= 0, got ${limit.burst}, ${limit.ratePerSecond}`,
      );
    }
    this.burst = limit.burst;
    this.tokens = limit.burst;
    this.perMs = limit.ratePerSecond / 1000;
    this.last = clock.now();
  }

  /** Spends one token; false when none is left (the peer is over its limit). */
  take(): boolean {
    if (this.tokens < this.burst) {
      const now = this.clock.now();
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
      this.last = now;
    } else {
      this.last = this.clock.now();
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
