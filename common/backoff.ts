// Exponential backoff with jitter for retrying failed resolutions.

export interface BackoffPolicy {
  /** Delay after the first failure. */
  readonly initialMs: number;
  /** Upper bound on any delay (before jitter). */
  readonly maxMs: number;
  /** Growth per consecutive failure. */
  readonly multiplier: number;
  /** Share of the delay randomised either way (0.2: ±20 %), so many resolvers do not retry in step. */
  readonly jitter: number;
}

/**
 * Delay before retry number `failures` (1 for the first failure). `random` returns [0, 1);
 * injected so tests can make the jitter deterministic.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  failures: number,
  random: () => number,
): number {
  const exponent = Math.max(0, failures - 1);
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.multiplier, exponent));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}
