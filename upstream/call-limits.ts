// What bounds a cluster's calls and retries: the circuit breakers (calls, pending calls and
// retries at once), gRFC A6's retry throttle and the retry budget, with the counters metrics
// read. One per cluster; calls read and bump plain numbers, so a call costs no allocation.
import type {
  CircuitBreakersConfig,
  HedgingPolicyConfig,
  RetryBudgetConfig,
  RetryPolicyConfig,
  RetryThrottlingConfig,
} from '../config/types.js';

/** Why an attempt was retried, as metrics label it. */
export type RetryReason = 'status' | 'reset' | 'per_try_timeout';

/** Why a failure that the policy would retry was returned as it was. */
export type RetryDenial =
  | 'attempts'
  | 'client_retries'
  | 'pushback'
  | 'committed'
  | 'deadline'
  | 'throttled'
  | 'budget'
  | 'breaker';

/** The circuit breaker limits, as metrics label them. */
export type BreakerLimit = 'maxConcurrentCalls' | 'maxPendingCalls' | 'maxConcurrentRetries';

/** The retry budget counts calls and retries over this window (Linkerd's classic TTL). */
const BUDGET_WINDOW_MS = 10_000;

export class CallLimits {
  readonly policy: RetryPolicyConfig | undefined;
  readonly hedging: HedgingPolicyConfig | undefined;
  readonly breakers: CircuitBreakersConfig;
  /**
   * A call of the cluster ran under a retry (hedging) policy, the cluster's, a route's or one
   * from the resolver's service config: metrics report the cluster's retries (hedges).
   */
  retryPolicySeen: boolean;
  hedgingPolicySeen: boolean;
  /** Calls counted against maxConcurrentCalls. */
  activeCalls = 0;
  /** Calls between a failed attempt and the end of the call, counted against maxConcurrentRetries. */
  activeRetries = 0;

  readonly stats = {
    /** Attempts sent upstream by calls of a cluster with a retry policy (the first included). */
    attempts: 0,
    retries: { status: 0, reset: 0, per_try_timeout: 0 } as Record<RetryReason, number>,
    /** Copies of calls sent by the hedging policy (beyond the first). */
    hedges: 0,
    /** Hedged calls whose answer came from a copy rather than the first attempt. */
    hedgeWins: 0,
    denied: {
      attempts: 0,
      client_retries: 0,
      pushback: 0,
      committed: 0,
      deadline: 0,
      throttled: 0,
      budget: 0,
      breaker: 0,
    } as Record<RetryDenial, number>,
    /** Calls whose request outgrew the replay buffer, so that no retry could send it again. */
    bufferCommits: 0,
    trips: { maxConcurrentCalls: 0, maxPendingCalls: 0, maxConcurrentRetries: 0 } as Record<
      BreakerLimit,
      number
    >,
  };

  // A6's throttle, in thousandths of a token as grpc-js keeps it (tokenRatio has three
  // decimals, so the count stays exact).
  private maxTokens: number;
  private tokenRatio: number;
  private tokens: number;
  private throttling: RetryThrottlingConfig | undefined;

  // The budget: calls and retries in the current window and the one before it, the older
  // weighted by how much of it still lies within the last 10 s.
  private readonly budget: RetryBudgetConfig;
  private windowStart = -Infinity;
  private calls = 0;
  private retried = 0;
  private lastCalls = 0;
  private lastRetried = 0;

  constructor(
    policy: RetryPolicyConfig | undefined,
    hedging: HedgingPolicyConfig | undefined,
    throttling: RetryThrottlingConfig | undefined,
    budget: RetryBudgetConfig,
    breakers: CircuitBreakersConfig,
    /** Jitter for the backoff; `Math.random` in production. */
    readonly random: () => number,
  ) {
    this.policy = policy;
    this.hedging = hedging;
    this.breakers = breakers;
    this.budget = budget;
    this.retryPolicySeen = policy !== undefined;
    this.hedgingPolicySeen = hedging !== undefined;
    this.maxTokens = 0;
    this.tokenRatio = 0;
    this.tokens = 0;
    this.setThrottling(throttling);
  }

  /**
   * The throttle in force: the config's, or one a resolver's service config brought. A new one
   * starts full, as A6 starts a channel's; the same one again keeps its tokens.
   */
  setThrottling(throttling: RetryThrottlingConfig | undefined): void {
    const same =
      throttling?.maxTokens === this.throttling?.maxTokens &&
      throttling?.tokenRatio === this.throttling?.tokenRatio;
    this.throttling = throttling;
    if (same && this.maxTokens !== 0) return;
    this.maxTokens = throttling === undefined ? 0 : Math.round(throttling.maxTokens * 1000);
    this.tokenRatio = throttling === undefined ? 0 : Math.round(throttling.tokenRatio * 1000);
    this.tokens = this.maxTokens;
  }

  /** Tokens left in the throttle (A6), or undefined without one. */
  get throttleTokens(): number | undefined {
    return this.maxTokens === 0 ? undefined : this.tokens / 1000;
  }

  /** A call of a cluster with a retry policy started (the budget's denominator). */
  callStarted(now: number): void {
    this.roll(now);
    this.calls++;
  }

  /** A6: an attempt failed with a retryable status (or pushback said stop): one token less. */
  attemptFailed(): void {
    if (this.maxTokens !== 0) this.tokens = Math.max(0, this.tokens - 1000);
  }

  /** A6: a call succeeded: tokenRatio tokens back, up to maxTokens. */
  callSucceeded(): void {
    if (this.maxTokens !== 0) this.tokens = Math.min(this.maxTokens, this.tokens + this.tokenRatio);
  }

  /**
   * Whether a retry may go out now, by the throttle, the budget and maxConcurrentRetries;
   * undefined when it may (and it is then counted), else why not. `retrying`: the call is
   * already counted among the retrying ones.
   */
  takeRetry(now: number, retrying: boolean): RetryDenial | undefined {
    // A6: "retries … are only sent if token_count > max_tokens / 2".
    if (this.maxTokens !== 0 && this.tokens * 2 <= this.maxTokens) return 'throttled';
    this.roll(now);
    const weight = 1 - (now - this.windowStart) / BUDGET_WINDOW_MS;
    const calls = this.calls + this.lastCalls * weight;
    const retried = this.retried + this.lastRetried * weight;
    const allowed =
      (calls * this.budget.percent) / 100 +
      (this.budget.minRetriesPerSecond * BUDGET_WINDOW_MS) / 1000;
    if (retried + 1 > allowed) return 'budget';
    if (!retrying && this.activeRetries >= this.breakers.maxConcurrentRetries) {
      this.stats.trips.maxConcurrentRetries++;
      return 'breaker';
    }
    this.retried++;
    if (!retrying) this.activeRetries++;
    return undefined;
  }

  private roll(now: number): void {
    if (now - this.windowStart < BUDGET_WINDOW_MS) return;
    // One window on: the current one becomes the last; more than one: both are empty.
    const adjacent = now - this.windowStart < 2 * BUDGET_WINDOW_MS;
    this.lastCalls = adjacent ? this.calls : 0;
    this.lastRetried = adjacent ? this.retried : 0;
    this.calls = 0;
    this.retried = 0;
    this.windowStart = adjacent ? this.windowStart + BUDGET_WINDOW_MS : now;
  }
}
