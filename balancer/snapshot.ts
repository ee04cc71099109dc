// Read-only views of a balancer and its hosts, for the admin page and metrics.
import type { Connectivity, HealthStatus, Host } from './host.js';

/** One host as the admin page shows it. Plain data: safe to serialise to JSON. */
export interface HostSnapshot {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly hostname: string | undefined;
  readonly weight: number;
  readonly priority: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly connectivity: Connectivity;
  /** Why the last connect failed ("" when none). */
  readonly connectivityReason: string;
  readonly health: HealthStatus;
  /** Why the host is unhealthy or pending ("" when healthy or unchecked). */
  readonly healthReason: string;
  readonly ejected: boolean;
  /** Wall-clock time (ms since the epoch) the ejection ends; undefined when not ejected. */
  readonly ejectedUntil: number | undefined;
  /** Milliseconds of ejection left; 0 when not ejected. */
  readonly ejectionRemainingMs: number;
  /** Ejections since the host was added. */
  readonly ejections: number;
  /** Whether the policy may pick the host now. */
  readonly eligible: boolean;
  readonly inFlight: number;
  readonly calls: number;
  /** Calls that ended with an endpoint failure (connect error, reset, UNAVAILABLE). */
  readonly failures: number;
  /** Peak-EWMA call latency as of the last call, in ms; undefined before the first call. */
  readonly latencyMs: number | undefined;
}

export interface BalancerSnapshot {
  readonly policy: string;
  /**
   * True when no priority level is healthy enough (see the panic threshold) and calls go to
   * every ready host of the best level, healthy or not.
   */
  readonly panic: boolean;
  /** The priority level calls go to now; undefined when none can take calls. */
  readonly priority: number | undefined;
  /** Hosts the policy may pick now. */
  readonly eligible: number;
  readonly healthChecks: boolean;
  readonly outlierDetection: boolean;
  /** In the endpoint set's order. */
  readonly hosts: readonly HostSnapshot[];
}

/** `now` is on the balancer clock; `wallNow` is `Date.now()` at the same moment. */
export function hostSnapshot(host: Host, now: number, wallNow: number): HostSnapshot {
  const e = host.endpoint;
  const remaining = host.ejectedUntil === 0 ? 0 : Math.max(0, host.ejectedUntil - now);
  return {
    key: e.key,
    address: e.address,
    port: e.port,
    hostname: e.hostname,
    weight: e.weight,
    priority: e.priority,
    metadata: e.metadata,
    connectivity: host.connectivity,
    connectivityReason: host.connectivityReason,
    health: host.health,
    healthReason: host.healthReason,
    ejected: host.ejectedUntil !== 0,
    ejectedUntil: host.ejectedUntil === 0 ? undefined : Math.round(wallNow + remaining),
    ejectionRemainingMs: remaining,
    ejections: host.ejections,
    eligible: host.eligible,
    inFlight: host.inFlight,
    calls: host.calls,
    failures: host.failures,
    latencyMs: host.latency.samples > 0 ? host.latency.lastEstimate : undefined,
  };
}
