// The contract of a balancing policy (round_robin, least_loaded, …).
import type { Host } from './host.js';

/** What a policy may look at to pick a host: the call's path and request headers. */
export interface PickRequest {
  /** `/package.Service/Method`. */
  readonly path: string;
  /**
   * Request headers by lower-case name; a repeated field's values joined with ", " (RFC 9110
   * §5.3). Read-only, and possibly built on first read: a policy that never looks pays nothing.
   */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** A request with no path and no headers, for callers that have neither. */
export const EMPTY_PICK_REQUEST: PickRequest = Object.freeze({
  path: '',
  headers: Object.freeze({}),
});

/** Time and randomness a policy may use; injected so tests are deterministic. */
export interface PolicyContext {
  /** Monotonic milliseconds (the balancer's clock). */
  readonly now: () => number;
  /** Uniform in [0, 1), like `Math.random`. */
  readonly random: () => number;
}

/**
 * A balancing policy chooses among the hosts the balancer says may take calls now.
 * `setHosts` runs on every change of that list (rare: connects, health, ejections, new sets)
 * and does the expensive work; `pick` runs per call, must be synchronous and should not
 * allocate.
 */
export interface Policy {
  readonly name: string;
  /**
   * The time constant of the hosts' latency averages, when the policy depends on them
   * (least_loaded's `decayMs`). The balancer feeds every host's average with it; 10 s otherwise.
   */
  readonly latencyDecayMs?: number;
  /**
   * A latency sample after this long without one replaces a host's estimate instead of
   * blending into it (see PeakEwma); never, when undefined.
   */
  readonly latencyStaleMs?: number;
  /**
   * Optional: every host of the cluster, ready or not, after each endpoint-set update and
   * before the `setHosts` that follows it. Lets a policy tie per-host layout to membership
   * rather than to readiness (ring_hash keeps its ring density stable this way).
   */
  setAllHosts?(hosts: readonly Host[]): void;
  /** The hosts calls may go to now; empty when none. The array is not mutated later. */
  setHosts(hosts: readonly Host[]): void;
  /** A host for this call, or null when none is available. */
  pick(request: PickRequest): Host | null;
  /**
   * Optional: a host for a retry of this call other than those in `avoid` (where earlier
   * attempts failed), or one of them when no other is available; null when none is. Without
   * it the balancer picks again until it gets another host (round robin moves on that way).
   * Runs only on retries, so it may allocate.
   */
  pickOther?(request: PickRequest, avoid: ReadonlySet<Host>): Host | null;
  /** Optional per-call accounting, for policies that weigh load or latency. */
  callStarted?(host: Host): void;
  callEnded?(host: Host, latencyMs: number, failed: boolean): void;
}
