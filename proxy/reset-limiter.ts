// How many streams a client may reset on one connection: a token bucket of `burst` resets,
// refilled at `ratePerSecond` (nghttp2's rapid-reset defence, CVE-2023-44487, works the same
// way). Time comes from the caller, so tests drive it in milliseconds.

export interface ResetLimit {
  /** Resets allowed at once. */
  readonly burst: number;
  /** Resets allowed per second after the burst. */
  readonly ratePerSecond: number;
}

export class ResetLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limit: ResetLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.last = now;
  }

  /** One reset at `now`: false once the client is over the limit. */
  take(now: number): boolean {
    const { burst, ratePerSecond } = this.limit;
    this.tokens = Math.min(burst, this.tokens + ((now - this.last) * ratePerSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
