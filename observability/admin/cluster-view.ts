// The admin API's views of a running proxy: /clusters (clusters, endpoints, routes) and
// /ready (can every listener and cluster take calls). Plain data, built per request.
import type { HostSnapshot } from '../../balancer/snapshot.js';
import { redactUrl } from '../../config/redact-config.js';
import type { DescriptorsView } from '../../proxy/descriptor-source.js';
import type { RouteMatch } from '../../config/types.js';
import { expiryWarning } from '../../proxy/listener-tls.js';
import { endpointState, type EndpointState, type ObservedProxy } from '../metrics/proxy-state.js';

export interface EndpointView extends HostSnapshot {
  /** The one state the endpoint shows under (see `endpointState`). */
  readonly state: EndpointState;
  /** Open HTTP/2 connections to the endpoint. */
  readonly connections: number;
}

export interface ClusterView {
  readonly name: string;
  readonly target: string;
  readonly policy: string;
  /** Calls go to every ready endpoint because too few are healthy. */
  readonly panic: boolean;
  /** Endpoints the policy may pick now. */
  readonly eligible: number;
  readonly healthChecks: boolean;
  readonly outlierDetection: boolean;
  readonly resolver: {
    readonly updates: number;
    readonly errors: number;
    /** The last resolver error ("" when none). */
    readonly lastError: string;
    /** Wall-clock ms of the last endpoint set; 0 before the first. */
    readonly lastUpdateAt: number;
    /** Why the resolver has no endpoints now, if it has none. */
    readonly problem: string | undefined;
  };
  readonly endpoints: readonly EndpointView[];
}

export interface RouteView {
  readonly name: string;
  readonly cluster: string;
  readonly match: RouteMatch;
}

export interface ListenerView {
  readonly name: string;
  /** `host:port` as bound; undefined when the listener is not listening. */
  readonly address: string | undefined;
  readonly connections: number;
  readonly accepted: number;
}

/** The /clusters document. */
export interface ProxyView {
  readonly version: string;
  /** Wall-clock ms when the view was taken. */
  readonly time: number;
  readonly inFlight: number;
  readonly listeners: readonly ListenerView[];
  readonly routes: readonly RouteView[];
  readonly clusters: readonly ClusterView[];
  /** Descriptors in use, and each reflected cluster's schema per endpoint (skew shows here). */
  readonly descriptors?: DescriptorsView;
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function proxyView(proxy: ObservedProxy, version: string): ProxyView {
  const descriptors = proxy.descriptorsView?.();
  const clusters: ClusterView[] = [];
  for (const cluster of proxy.clusterList()) {
    const snapshot = cluster.balancer.snapshot();
    const connections = new Map<string, number>();
    for (const host of cluster.balancer.hosts()) {
      connections.set(host.key, cluster.pool(host)?.sessionCount ?? 0);
    }
    clusters.push({
      name: cluster.name,
      // Redacted as /config redacts it: an authority may carry credentials.
      target: redactUrl(cluster.target),
      policy: snapshot.policy,
      panic: snapshot.panic,
      eligible: snapshot.eligible,
      healthChecks: snapshot.healthChecks,
      outlierDetection: snapshot.outlierDetection,
      resolver: { ...cluster.stats, problem: cluster.resolverProblem },
      endpoints: snapshot.hosts.map((h) => ({
        ...h,
        state: endpointState(h),
        connections: connections.get(h.key) ?? 0,
      })),
    });
  }
  const listeners: ListenerView[] = [];
  for (const l of proxy.listenerList()) {
    let address: string | undefined;
    try {
      const a = l.address();
      address = formatAddress(a.host, a.port);
    } catch {
      address = undefined;
    }
    listeners.push({
      name: l.name,
      address,
      connections: l.sessionCount,
      accepted: l.accepted,
    });
  }
  return {
    version,
    time: Date.now(),
    inFlight: proxy.inFlight,
    listeners,
    routes: proxy.config.routes.map((r) => ({ name: r.name, cluster: r.cluster, match: r.match })),
    clusters,
    ...(descriptors !== undefined && { descriptors }),
  };
}

export interface Readiness {
  readonly ready: boolean;
  /** What is not ready, one line each; empty when ready. */
  readonly reasons: readonly string[];
  /** What needs attention soon without stopping calls (a certificate near its expiry). */
  readonly warnings?: readonly string[];
}

/**
 * Ready when the proxy is not shutting down, every configured listener is listening, and every
 * cluster's balancer can pick an endpoint now (one is connected and, where checked, healthy and not ejected — or the cluster
 * is in panic mode and sends calls to any connected one).
 */
export function readiness(proxy: ObservedProxy, shuttingDown = false): Readiness {
  const reasons: string[] = [];
  if (shuttingDown) reasons.push('switchyard is shutting down');
  const listening = new Set<string>();
  for (const l of proxy.listenerList()) {
    try {
      l.address();
      listening.add(l.name);
    } catch {
      // not bound: reported below
    }
  }
  for (const lc of proxy.config.listeners) {
    if (!listening.has(lc.name)) {
      reasons.push(
        `listener "${lc.name}" is not listening on ${formatAddress(lc.address.host, lc.address.port)}`,
      );
    }
  }
  for (const cluster of proxy.clusterList()) {
    const balancer = cluster.balancer;
    if (balancer.eligible > 0) continue;
    if (balancer.size === 0) {
      reasons.push(cluster.unavailableReason());
      continue;
    }
    const states: string[] = [];
    for (const host of balancer.hosts()) {
      const state = endpointState(host);
      // A reconnecting endpoint keeps the reason its connection failed.
      const why =
        state === 'failing' || state === 'connecting'
          ? host.connectivityReason
          : state === 'unhealthy'
            ? host.healthReason
            : '';
      states.push(`${host.key} ${state}${why ? `: ${why}` : ''}`);
      if (states.length === 3) break;
    }
    const more = balancer.size > 3 ? `, and ${balancer.size - 3} more` : '';
    reasons.push(
      `cluster "${cluster.name}" has no endpoint that can take calls (${states.join('; ')}${more})`,
    );
  }
  const warnings: string[] = [];
  const now = Date.now();
  for (const l of proxy.listenerList()) {
    const tls = l.config.tls;
    const warning = tls && expiryWarning(l.name, tls, l.certificateNotAfter, now);
    if (warning) warnings.push(warning);
  }
  return { ready: reasons.length === 0, reasons, ...(warnings.length > 0 ? { warnings } : {}) };
}
