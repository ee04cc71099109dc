// A token bucket on an injected clock: `burst` tokens at most, `ratePerSecond` added per
// second, refilled lazily when asked (no timer). Plain numbers, so a bucket per key is cheap.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerMs: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /**
   * Takes one token: 0 when there was one, else the milliseconds until there will be (what
   * the caller is told to wait: grpc-retry-pushback-ms).
   */
  take(now: number): number {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerMs);
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerMs));
  }
}
