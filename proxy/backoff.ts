// Exponential backoff with jitter, as gRPC's connection backoff spec describes.

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  /** ±share of the delay randomised, so endpoints that fail together do not retry together. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 1_000,
  maxMs: 30_000,
  multiplier: 1.6,
  jitter: 0.2,
};

export class Backoff {
  private nextMs: number;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {
    this.nextMs = options.initialMs;
  }

  /** The delay before the next attempt; each call grows the one after. */
  next(): number {
    const base = this.nextMs;
    this.nextMs = Math.min(this.options.maxMs, base * this.options.multiplier);
    const spread = base * this.options.jitter;
    return Math.max(0, Math.round(base - spread + this.random() * 2 * spread));
  }

  reset(): void {
    this.nextMs = this.options.initialMs;
  }
}
