// Per-endpoint state shared by the balancer, health checks, outlier detection and the proxy.
import type { Endpoint } from '../resolver/endpoint.js';
import { PeakEwma } from './peak-ewma.js';

/**
 * The connection state of an endpoint, as its upstream connection pool reports it.
 * - `idle`: no connection wanted yet; `connecting`: the first (or a re-) connect is under way;
 * - `ready`: at least one session can take calls;
 * - `failing`: the last connect failed; the pool is backing off before it tries again.
 */
export type Connectivity = 'idle' | 'connecting' | 'ready' | 'failing';

/**
 * What active health checks say about an endpoint.
 * - `unchecked`: the cluster has no health checks; the endpoint counts as healthy;
 * - `pending`: checks are on and the first one has not answered yet (takes no calls);
 * - `healthy` / `unhealthy`: the thresholds' verdict.
 */
export type HealthStatus = 'unchecked' | 'pending' | 'healthy' | 'unhealthy';

/**
 * One endpoint of a cluster and everything the balancer knows about it. The host outlives
 * endpoint-set updates that keep its key, so in-flight counts, health and ejections carry over.
 * Fields are written by the balancer and its health checker and outlier detector only; the
 * proxy reads them (and reports connectivity and calls through the `Balancer` methods).
 */
export class Host {
  /** The latest endpoint value for this key (weight or metadata may change across updates). */
  endpoint: Endpoint;
  connectivity: Connectivity = 'idle';
  /** Why the last connect failed, for the admin view. */
  connectivityReason = '';
  health: HealthStatus = 'unchecked';
  /** Why the host is unhealthy (the last failed check), or what it waits for. */
  healthReason = '';
  /** Balancer-clock time (ms) the current ejection ends; 0 when not ejected. */
  ejectedUntil = 0;
  /** Ejections since the host was added. */
  ejections = 0;
  /** The next ejection lasts base × this (after +1); falls by one per clean interval. */
  ejectionMultiplier = 0;
  /** Endpoint failures in a row, reset by any call that ends without one. */
  consecutiveFailures = 0;
  /** Calls ended, and endpoint failures, in the outlier detector's current interval. */
  intervalCalls = 0;
  intervalFailures = 0;
  /**
   * Whether the policy may pick this host, as of the balancer's last rebuild of its eligible
   * list (which runs lazily on the next pick; `balancer.snapshot()` is always current).
   */
  eligible = false;
  /** True once the host left the endpoint set; calls still in flight may end on it. */
  removed = false;
  /** Calls started and not yet ended. */
  inFlight = 0;
  /** Calls ended, and calls ended with an endpoint failure, since the host was added. */
  calls = 0;
  failures = 0;
  /** Latency of ended calls (see `PeakEwma`). */
  readonly latency = new PeakEwma();

  constructor(endpoint: Endpoint) {
    this.endpoint = endpoint;
  }

  get key(): string {
    return this.endpoint.key;
  }

  get ejected(): boolean {
    return this.ejectedUntil !== 0;
  }

  /** Ready, healthy (or unchecked) and not ejected: may take calls outside panic mode. */
  get usable(): boolean {
    return (
      this.connectivity === 'ready' &&
      this.ejectedUntil === 0 &&
      (this.health === 'healthy' || this.health === 'unchecked')
    );
  }
}
