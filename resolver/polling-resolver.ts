// Scheduling for resolvers that ask and wait (DNS): TTL-driven refresh, rate limit, backoff.
import { backoffDelay, type BackoffPolicy } from '../common/backoff.js';
import { BaseResolver } from './base-resolver.js';
import type { Clock, TimerHandle } from '../common/clock.js';
import type { EndpointSet } from './endpoint.js';
import { ResolutionError } from './errors.js';

/** What one round of queries found. */
export type PollOutcome =
  | {
      readonly kind: 'set';
      readonly set: EndpointSet;
      /** When the answer goes stale (shortest TTL); Infinity: never (IP literals). */
      readonly staleAfterMs: number;
      /** Partial failures worth reporting while the set still stands (one family, bad TXT). */
      readonly problems: readonly ResolutionError[];
    }
  | { readonly kind: 'not-found'; readonly error: ResolutionError }
  | { readonly kind: 'error'; readonly error: ResolutionError };

export interface PollingSchedule {
  readonly minRefreshMs: number;
  readonly maxRefreshMs: number;
  readonly backoff: BackoffPolicy;
}

/**
 * Runs `poll()` once on start, then again when the answer goes stale — never sooner than
 * `minRefreshMs` nor later than `maxRefreshMs` after the previous start — and with exponential
 * backoff after failures. `refresh()` pulls the next poll forward to the rate limit, but never
 * cuts a backoff short. One poll at a time.
 */
export abstract class PollingResolver extends BaseResolver {
  private timer: TimerHandle | undefined;
  /** When the timer fires, on the clock's time line; Infinity when none is set. */
  private nextAt = Infinity;
  private inFlight = false;
  private lastStartAt = -Infinity;
  private failures = 0;
  /** The answer never goes stale (an IP literal): no more polls. */
  private final = false;

  constructor(
    target: string,
    private readonly schedule: PollingSchedule,
    protected readonly clock: Clock,
    protected readonly random: () => number,
  ) {
    super(target);
  }

  /** One round of queries. Must not throw; a rejection counts as a transient error. */
  protected abstract poll(): Promise<PollOutcome>;
  /** Aborts the queries of an in-flight poll (close()). */
  protected abstract cancelQueries(): void;

  /** Consecutive failed polls (tests and metrics). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  protected start(): void {
    void this.run();
  }

  protected stop(): void {
    this.clearTimer();
    this.cancelQueries();
  }

  protected override onRefresh(): void {
    if (this.final || this.inFlight || this.failures > 0) return;
    const earliest = this.lastStartAt + this.schedule.minRefreshMs;
    if (this.nextAt <= earliest) return;
    this.setTimer(Math.max(0, earliest - this.clock.now()));
  }

  private async run(): Promise<void> {
    if (this.closed || this.inFlight) return;
    this.clearTimer();
    this.inFlight = true;
    this.lastStartAt = this.clock.now();
    let outcome: PollOutcome;
    try {
      outcome = await this.poll();
    } catch (cause) {
      outcome = {
        kind: 'error',
        error: new ResolutionError(
          'SWY_ERR_RESOLVE_TRANSIENT',
          this.target,
          `resolution failed: ${String(cause)}`,
          { cause },
        ),
      };
    }
    this.inFlight = false;
    if (this.closed) return;
    const { minRefreshMs, maxRefreshMs } = this.schedule;
    switch (outcome.kind) {
      case 'set': {
        this.failures = 0;
        this.publish(outcome.set);
        for (const problem of outcome.problems) this.reportError(problem);
        if (outcome.staleAfterMs === Infinity && outcome.problems.length === 0) {
          this.final = true;
          return;
        }
        const wait = Math.min(maxRefreshMs, Math.max(minRefreshMs, outcome.staleAfterMs));
        this.setTimer(Math.max(0, this.lastStartAt + wait - this.clock.now()));
        return;
      }
      case 'not-found':
        this.failures++;
        this.reportNotFound(outcome.error);
        break;
      case 'error':
        this.failures++;
        this.reportError(outcome.error);
        break;
    }
    this.setTimer(backoffDelay(this.schedule.backoff, this.failures, this.random));
  }

  private setTimer(delayMs: number): void {
    this.clearTimer();
    this.nextAt = this.clock.now() + delayMs;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.nextAt = Infinity;
      void this.run();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAt = Infinity;
  }
}
