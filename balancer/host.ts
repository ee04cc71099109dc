// Per-endpoint state shared by the balancer, health checks, outlier detection and the proxy.
import type { Endpoint } from '../resolver/endpoint.js';

/**
 * The connection state of an endpoint, as its upstream connection pool reports it.
 * - `idle`: no connection wanted yet; `connecting`: the first (or a re-) connect is under way;
 * - `ready`: at least one session can take calls;
 * - `failing`: the last connect failed; the pool is backing off before it tries again.
 */
export type Connectivity = 'idle' | 'connecting' | 'ready' | 'failing';

/**
 * One endpoint of a cluster and everything the balancer knows about it. The host outlives
 * endpoint-set updates that keep its key, so in-flight counts and health carry over.
 */
export class Host {
  /** The latest endpoint value for this key (weight or metadata may change across updates). */
  endpoint: Endpoint;
  connectivity: Connectivity = 'idle';
  /** Why the last connect failed, for the admin view. */
  connectivityReason = '';
  /** Calls started and not yet ended. */
  inFlight = 0;
  /** Calls ended, and calls ended with an endpoint failure, since the host was added. */
  calls = 0;
  failures = 0;

  constructor(endpoint: Endpoint) {
    this.endpoint = endpoint;
  }

  get key(): string {
    return this.endpoint.key;
  }
}
