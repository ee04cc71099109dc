// How many streams a client may reset on one connection: a token bucket of `burst` resets,
// refilled continuously at `rate` per second (the rapid-reset defence, CVE-2023-44487, as
// nghttp2 applies it to its clients). It enforces the listener's limit exactly, where
// reset-budget.ts mirrors a peer's limit with a margin. Time comes from the caller, so tests
// drive it in milliseconds.
import type { ResetLimitConfig } from '../config/types.js';

export class ResetLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limit: ResetLimitConfig,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.last = now;
  }

  /** One reset at `now`: false once the client is over the limit. */
  take(now: number): boolean {
    const { burst, rate } = this.limit;
    this.tokens = Math.min(burst, this.tokens + ((now - this.last) * rate) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
