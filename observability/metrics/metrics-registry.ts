// The Prometheus registry behind /metrics: per-route call metrics from `CallMetrics`, and
// gauges and counters read from the proxy's live state (endpoints, resolvers, connections) at
// scrape time, plus the process's own metrics.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Host } from '../../balancer/host.js';
import { CLOSE_REASONS, STREAM_RESET_REASONS } from '../../proxy/client-connection.js';
import { daysLeft } from '../../proxy/listener-tls.js';
import type { Cluster } from '../../upstream/cluster.js';
import { statusName } from '../../grpc/grpc-status.js';
import { DURATION_BOUNDS_MS, STATUS_SLOTS, type CallMetrics } from './call-metrics.js';
import type { PeerCallMetrics } from './peer-metrics.js';
import { ENDPOINT_STATES, endpointState, type ObservedProxy } from './proxy-state.js';
import { ScrapedHistogram } from './scraped-histogram.js';

type Add<L extends string> = (labels: Record<L, string>, value: number) => void;

/** A gauge whose values are set from `fill` on every scrape; series not filled disappear. */
function scrapedGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  fill: (add: Add<L>) => void,
): void {
  new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      fill((labels, value) => this.set(labels, value));
    },
  });
}

/** One sample per gRPC status a series has counted, with `grpc_code` added to its labels. */
function addByStatus<L extends string>(
  add: Add<L | 'grpc_code'>,
  labels: Readonly<Record<Exclude<L, 'grpc_code'>, string>>,
  byStatus: Float64Array,
): void {
  for (let code = 0; code < STATUS_SLOTS; code++) {
    const n = byStatus[code];
    if (n > 0)
      add({ ...labels, grpc_code: statusName(code) } as Record<L | 'grpc_code', string>, n);
  }
}

/**
 * A counter whose totals are kept elsewhere (plain numbers, or the proxy's own state) and
 * copied in on every scrape.
 */
function scrapedCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  fill: (add: Add<L>) => void,
): void {
  new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      fill((labels, value) => this.inc(labels, value));
    },
  });
}

// prom-client's default metrics start a GC observer and an event-loop monitor that cannot be
// stopped, so they are made once per process and shared by every registry.
let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** A registry private to one proxy (never prom-client's global one). */
export function createMetricsRegistry(
  proxy: ObservedProxy,
  calls: CallMetrics,
  version: string,
  peers?: PeerCallMetrics,
): Registry {
  const r = new Registry();

  scrapedGauge(r, 'switchyard_build_info', 'The running switchyard version.', ['version'], (add) =>
    add({ version }, 1),
  );

  // Calls, per route.
  scrapedCounter(
    r,
    'switchyard_calls_total',
    'Calls ended, by cluster, route and gRPC status.',
    ['cluster', 'route', 'grpc_code'],
    (add) => {
      for (const s of calls.series()) addByStatus(add, s.labels, s.calls);
    },
  );
  if (peers !== undefined) {
    scrapedCounter(
      r,
      'switchyard_peer_calls_total',
      "Calls ended, by listener, the client certificate's identity (tls.peerLabel) and gRPC status.",
      ['listener', 'peer', 'grpc_code'],
      (add) => {
        for (const s of peers.series()) addByStatus(add, s.labels, s.calls);
      },
    );
  }
  new ScrapedHistogram(
    'switchyard_call_duration_seconds',
    'Call duration from the request headers to the status, by cluster and route.',
    DURATION_BOUNDS_MS.map((ms) => ms / 1000),
    function* () {
      for (const s of calls.series()) {
        if (s.count > 0)
          yield { labels: s.labels, buckets: s.buckets, sum: s.durationSumMs / 1000 };
      }
    },
  ).register(r);
  scrapedGauge(
    r,
    'switchyard_calls_in_flight',
    'Calls started and not yet ended, by cluster and route.',
    ['cluster', 'route'],
    (add) => {
      for (const s of calls.series()) add(s.labels, s.inFlight);
    },
  );
  scrapedCounter(
    r,
    'switchyard_request_bytes_total',
    'Request bytes received from clients (gRPC messages with their 5-byte prefixes).',
    ['cluster', 'route'],
    (add) => {
      for (const s of calls.series()) add(s.labels, s.bytesIn);
    },
  );
  scrapedCounter(
    r,
    'switchyard_response_bytes_total',
    'Response bytes received from endpoints and sent to clients (gRPC messages with prefixes).',
    ['cluster', 'route'],
    (add) => {
      for (const s of calls.series()) add(s.labels, s.bytesOut);
    },
  );

  // Filters' decisions.
  scrapedCounter(
    r,
    'switchyard_filter_decisions_total',
    'Decisions of filters (rateLimit: allow, deny), by filter and where it runs (route:NAME, listener:NAME).',
    ['filter', 'scope', 'decision'],
    (add) => {
      const decisions = proxy.filterDecisions;
      if (decisions === undefined) return;
      for (const s of decisions.all()) {
        add({ filter: s.filter, scope: s.scope, decision: s.decision }, s.counter.value);
      }
    },
  );

  // Endpoints, read from the balancers.
  scrapedGauge(
    r,
    'switchyard_endpoints',
    'Endpoints of a cluster, by state (ready, checking, idle, connecting, failing, unhealthy, ejected).',
    ['cluster', 'state'],
    (add) => {
      const counts = new Map<string, number>();
      for (const cluster of proxy.clusterList()) {
        for (const state of ENDPOINT_STATES) counts.set(state, 0);
        for (const host of cluster.balancer.hosts()) {
          const state = endpointState(host);
          counts.set(state, counts.get(state)! + 1);
        }
        for (const [state, n] of counts) add({ cluster: cluster.name, state }, n);
      }
    },
  );
  // Server reflection: what each reflected cluster's endpoints serve.
  scrapedGauge(
    r,
    'switchyard_descriptor_versions',
    'Distinct descriptor sets (by content hash) the endpoints of a reflected cluster served at the last refresh; above 1 during a rolling deploy.',
    ['cluster'],
    (add) => {
      for (const c of proxy.descriptorsView?.()?.reflection ?? []) {
        add({ cluster: c.cluster }, c.versions);
      }
    },
  );
  scrapedCounter(
    r,
    'switchyard_reflection_errors_total',
    'Endpoints whose server reflection failed (unreachable, UNIMPLEMENTED, bad descriptors), one per endpoint per refresh.',
    ['cluster'],
    (add) => {
      for (const c of proxy.descriptorsView?.()?.reflection ?? []) {
        add({ cluster: c.cluster }, c.fetchErrors);
      }
    },
  );
  scrapedGauge(
    r,
    'switchyard_cluster_panic',
    '1 while too few endpoints are healthy and calls go to every ready endpoint.',
    ['cluster'],
    (add) => {
      for (const cluster of proxy.clusterList()) {
        add({ cluster: cluster.name }, cluster.balancer.panic ? 1 : 0);
      }
    },
  );
  const perEndpoint = (read: (host: Host, cluster: Cluster) => number | undefined) => {
    return (add: Add<'cluster' | 'endpoint'>) => {
      for (const cluster of proxy.clusterList()) {
        for (const host of cluster.balancer.hosts()) {
          const value = read(host, cluster);
          if (value !== undefined) add({ cluster: cluster.name, endpoint: host.key }, value);
        }
      }
    };
  };
  const endpointLabels = ['cluster', 'endpoint'] as const;
  scrapedGauge(
    r,
    'switchyard_endpoint_calls_in_flight',
    'Calls on an endpoint now.',
    endpointLabels,
    perEndpoint((host) => host.inFlight),
  );
  scrapedCounter(
    r,
    'switchyard_endpoint_calls_total',
    'Calls ended on an endpoint since it joined its cluster.',
    endpointLabels,
    perEndpoint((host) => host.calls),
  );
  scrapedCounter(
    r,
    'switchyard_endpoint_failures_total',
    'Calls ended on an endpoint with an endpoint failure (connection lost, reset, UNAVAILABLE).',
    endpointLabels,
    perEndpoint((host) => host.failures),
  );
  scrapedCounter(
    r,
    'switchyard_endpoint_ejections_total',
    'Times outlier detection ejected an endpoint since it joined its cluster.',
    endpointLabels,
    perEndpoint((host) => host.ejections),
  );
  scrapedGauge(
    r,
    'switchyard_endpoint_latency_seconds',
    "An endpoint's peak-EWMA call latency as of its last call.",
    endpointLabels,
    perEndpoint((host) =>
      host.latency.samples > 0 ? host.latency.lastEstimate / 1000 : undefined,
    ),
  );
  scrapedGauge(
    r,
    'switchyard_endpoint_connections',
    'Open HTTP/2 connections to an endpoint.',
    endpointLabels,
    perEndpoint((host, cluster) => cluster.pool(host)?.sessionCount ?? 0),
  );
  scrapedCounter(
    r,
    'switchyard_endpoint_resets_sent_total',
    'Stream resets (RST_STREAM CANCEL) sent to an endpoint for calls cancelled or cut.',
    endpointLabels,
    perEndpoint((host, cluster) => cluster.pool(host)?.resets.sent),
  );
  scrapedCounter(
    r,
    'switchyard_endpoint_resets_deferred_total',
    "Stream resets held back because a connection's reset budget was spent (sent once it allows, or dropped when the stream ends first).",
    endpointLabels,
    perEndpoint((host, cluster) => cluster.pool(host)?.resets.deferred),
  );
  scrapedCounter(
    r,
    'switchyard_endpoint_connections_rotated_total',
    "Connections to an endpoint replaced by a fresh one before the backend's reset limit was reached.",
    endpointLabels,
    perEndpoint((host, cluster) => cluster.pool(host)?.resets.rotations),
  );

  // Resolvers.
  scrapedCounter(
    r,
    'switchyard_resolver_updates_total',
    "Endpoint sets a cluster's resolver delivered.",
    ['cluster'],
    (add) => {
      for (const c of proxy.clusterList()) add({ cluster: c.name }, c.stats.updates);
    },
  );
  scrapedCounter(
    r,
    'switchyard_resolver_errors_total',
    "Errors a cluster's resolver reported (the last good endpoints stay in use).",
    ['cluster'],
    (add) => {
      for (const c of proxy.clusterList()) add({ cluster: c.name }, c.stats.errors);
    },
  );
  scrapedGauge(
    r,
    'switchyard_resolver_last_update_timestamp_seconds',
    "When a cluster's resolver last delivered endpoints (Unix time).",
    ['cluster'],
    (add) => {
      for (const c of proxy.clusterList()) {
        if (c.stats.lastUpdateAt > 0) add({ cluster: c.name }, c.stats.lastUpdateAt / 1000);
      }
    },
  );

  // Retries and circuit breakers (upstream/call-limits.ts).
  scrapedCounter(
    r,
    'switchyard_call_attempts_total',
    'Attempts sent upstream by calls of a cluster with a retry or hedging policy, first attempts included.',
    ['cluster'],
    (add) => {
      for (const c of proxy.clusterList()) {
        if (c.limits.retryPolicySeen || c.limits.hedgingPolicySeen) {
          add({ cluster: c.name }, c.limits.stats.attempts);
        }
      }
    },
  );
  scrapedCounter(
    r,
    'switchyard_hedges_total',
    'Copies of calls the hedging policy sent beyond the first attempt.',
    ['cluster'],
    (add) => {
      for (const c of proxy.clusterList()) {
        if (c.limits.hedgingPolicySeen) add({ cluster: c.name }, c.limits.stats.hedges);
      }
    },
  );
  scrapedCounter(
    r,
    'switchyard_hedge_wins_total',
    'Hedged calls answered by a copy rather than by their first attempt.',
    ['cluster'],
    (add) => {
      for (const c of proxy.clusterList()) {
        if (c.limits.hedgingPolicySeen) add({ cluster: c.name }, c.limits.stats.hedgeWins);
      }
    },
  );
  scrapedCounter(
    r,
    'switchyard_retries_total',
    'Retries the policy made, by reason: status (a listed status), reset (the stream ended without one), per_try_timeout.',
    ['cluster', 'reason'],
    (add) => {
      for (const c of proxy.clusterList()) {
        if (!c.limits.retryPolicySeen) continue;
        for (const [reason, n] of Object.entries(c.limits.stats.retries)) {
          add({ cluster: c.name, reason }, n);
        }
      }
    },
  );
  scrapedCounter(
    r,
    'switchyard_retries_denied_total',
    'Failures the policy would retry that went to the client instead, by reason: attempts, client_retries, pushback, committed, deadline, throttled, budget, breaker.',
    ['cluster', 'reason'],
    (add) => {
      for (const c of proxy.clusterList()) {
        if (!c.limits.retryPolicySeen && !c.limits.hedgingPolicySeen) continue;
        for (const [reason, n] of Object.entries(c.limits.stats.denied)) {
          add({ cluster: c.name, reason }, n);
        }
      }
    },
  );
  scrapedCounter(
    r,
    'switchyard_retry_buffer_commits_total',
    'Calls with a retry policy committed because their request outgrew the replay buffer (1 MiB a call, 16 MiB in all).',
    ['cluster'],
    (add) => {
      for (const c of proxy.clusterList()) {
        if (c.limits.retryPolicySeen) add({ cluster: c.name }, c.limits.stats.bufferCommits);
      }
    },
  );
  scrapedGauge(
    r,
    'switchyard_retry_throttle_tokens',
    "Tokens left in a cluster's retryThrottling bucket; retries stop at half of maxTokens.",
    ['cluster'],
    (add) => {
      for (const c of proxy.clusterList()) {
        const tokens = c.limits.throttleTokens;
        if (tokens !== undefined) add({ cluster: c.name }, tokens);
      }
    },
  );
  scrapedCounter(
    r,
    'switchyard_circuit_breaker_trips_total',
    'Calls failed (or failures not retried) because a circuit breaker limit was reached, by limit.',
    ['cluster', 'limit'],
    (add) => {
      for (const c of proxy.clusterList()) {
        for (const [limit, n] of Object.entries(c.limits.stats.trips)) {
          add({ cluster: c.name, limit }, n);
        }
      }
    },
  );

  // Forward-proxy mode.
  scrapedCounter(
    r,
    'switchyard_connect_requests_total',
    'CONNECT requests a forward-proxy listener answered, by outcome: cluster (an HTTP/2 tunnel to a cluster), passthrough (a byte tunnel), or the status it refused with (400, 403, 405, 407 without the credentials connect.users asks for, 408, 431, 502, 504).',
    ['listener', 'outcome'],
    (add) => {
      for (const l of proxy.listenerList()) {
        for (const [outcome, n] of l.connectAnswers) add({ listener: l.name, outcome }, n);
      }
    },
  );

  // Client connections.
  scrapedCounter(
    r,
    'switchyard_client_connections_accepted_total',
    'Client connections a listener accepted.',
    ['listener'],
    (add) => {
      for (const l of proxy.listenerList()) add({ listener: l.name }, l.accepted);
    },
  );
  scrapedCounter(
    r,
    'switchyard_client_connections_closed_total',
    'Client connections the proxy ended, by reason: handshake_timeout (no preface and SETTINGS in time), unresponsive (no answer to a PING, or taking no frames), protocol_error, rapid_reset (more resets than resetLimit).',
    ['listener', 'reason'],
    (add) => {
      for (const l of proxy.listenerList()) {
        for (const reason of CLOSE_REASONS) add({ listener: l.name, reason }, l.closed[reason]);
      }
    },
  );
  scrapedCounter(
    r,
    'switchyard_client_connection_errors_total',
    'Client connections the proxy ended with a connection error (GOAWAY with an RFC 9113 code), by reason: a flood (settings-flood, ping-flood, empty-data-flood, control-flood, rapid-reset), a malformed peer (header-block-too-large, too-many-continuations, frame-too-large, flow-control, compression, bad-stream-id, idle-stream, closed-stream, …) or handshake-timeout.',
    ['listener', 'reason'],
    (add) => {
      for (const l of proxy.listenerList()) {
        for (const [reason, n] of l.connectionErrors) add({ listener: l.name, reason }, n);
      }
    },
  );
  scrapedCounter(
    r,
    'switchyard_client_resets_total',
    'Streams clients reset (RST_STREAM) before the proxy had answered them; beyond listeners[].resetLimit a connection gets GOAWAY(ENHANCE_YOUR_CALM) (reason rapid_reset).',
    ['listener'],
    (add) => {
      for (const l of proxy.listenerList()) add({ listener: l.name }, l.clientResets);
    },
  );
  scrapedCounter(
    r,
    'switchyard_client_streams_reset_total',
    'Client streams the proxy reset because the client took no response data: stalled (for stalledStreamTimeout), buffer_limit (its connection held more than connectionBufferLimit).',
    ['listener', 'reason'],
    (add) => {
      for (const l of proxy.listenerList()) {
        for (const reason of STREAM_RESET_REASONS)
          add({ listener: l.name, reason }, l.resets[reason]);
      }
    },
  );
  scrapedGauge(
    r,
    'switchyard_client_connections',
    'Open HTTP/2 client connections on a listener.',
    ['listener'],
    (add) => {
      for (const l of proxy.listenerList()) add({ listener: l.name }, l.sessionCount);
    },
  );
  scrapedGauge(
    r,
    'switchyard_listener_certificate_days_left',
    "Days until a TLS listener's certificate expires (negative once it has); /ready warns within listeners[].tls.expiryWarningDays.",
    ['listener'],
    (add) => {
      const now = Date.now();
      for (const l of proxy.listenerList()) {
        const notAfter = l.certificateNotAfter;
        if (notAfter !== undefined) add({ listener: l.name }, daysLeft(notAfter, now));
      }
    },
  );

  return Registry.merge([r, processMetrics()]);
}
