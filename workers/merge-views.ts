// What the admin listener of a multi-worker proxy shows: the workers' views, readiness and
// metrics merged into one, as if one process served every call.
import type {
  ClusterView,
  EndpointView,
  ListenerView,
  ProxyView,
  Readiness,
} from '../observability/admin/cluster-view.js';
import type { EndpointState } from '../observability/metrics/proxy-state.js';

/** When workers disagree about an endpoint, the state that tells the most wins. */
const STATE_WEIGHT: Record<EndpointState, number> = {
  ejected: 6,
  failing: 5,
  unhealthy: 4,
  connecting: 3,
  idle: 2,
  checking: 1,
  ready: 0,
};

function mergeEndpoints(endpoints: readonly EndpointView[]): EndpointView {
  const first = endpoints[0];
  let inFlight = 0;
  let calls = 0;
  let failures = 0;
  let connections = 0;
  let ejections = 0;
  let latencySum = 0;
  let latencyCount = 0;
  let worst = first;
  for (const e of endpoints) {
    inFlight += e.inFlight;
    calls += e.calls;
    failures += e.failures;
    connections += e.connections;
    ejections += e.ejections;
    if (e.latencyMs !== undefined) {
      latencySum += e.latencyMs;
      latencyCount++;
    }
    if (STATE_WEIGHT[e.state] > STATE_WEIGHT[worst.state]) worst = e;
  }
  return {
    ...worst,
    inFlight,
    calls,
    failures,
    connections,
    ejections,
    eligible: endpoints.some((e) => e.eligible),
    latencyMs: latencyCount > 0 ? latencySum / latencyCount : undefined,
  };
}

function mergeClusters(clusters: readonly ClusterView[]): ClusterView {
  const first = clusters[0];
  const byKey = new Map<string, EndpointView[]>();
  for (const c of clusters) {
    for (const e of c.endpoints) {
      const list = byKey.get(e.key);
      if (list) list.push(e);
      else byKey.set(e.key, [e]);
    }
  }
  return {
    ...first,
    panic: clusters.some((c) => c.panic),
    eligible: Math.min(...clusters.map((c) => c.eligible)),
    endpoints: [...byKey.values()].map(mergeEndpoints),
  };
}

function mergeListeners(listeners: readonly ListenerView[]): ListenerView {
  return {
    ...listeners[0],
    address: listeners.find((l) => l.address !== undefined)?.address,
    connections: listeners.reduce((n, l) => n + l.connections, 0),
    accepted: listeners.reduce((n, l) => n + l.accepted, 0),
  };
}

function groupByName<T extends { readonly name: string }>(lists: readonly (readonly T[])[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const list of lists) {
    for (const item of list) {
      const group = groups.get(item.name);
      if (group) group.push(item);
      else groups.set(item.name, [item]);
    }
  }
  return [...groups.values()];
}

/**
 * One /clusters document from every worker's: traffic (in flight, calls, failures,
 * connections) summed, latency averaged, and each endpoint under the most telling state any
 * worker sees. The resolver and health parts are the same in every worker: the primary feeds
 * them all.
 */
export function mergeViews(views: readonly ProxyView[]): ProxyView {
  const first = views[0];
  return {
    ...first,
    time: Math.max(...views.map((v) => v.time)),
    inFlight: views.reduce((n, v) => n + v.inFlight, 0),
    listeners: groupByName(views.map((v) => v.listeners)).map(mergeListeners),
    clusters: groupByName(views.map((v) => v.clusters)).map(mergeClusters),
  };
}

/** Ready when every worker is; the reasons say which worker is not. */
export function mergeReadiness(readiness: readonly Readiness[], expected: number): Readiness {
  const reasons: string[] = [];
  if (readiness.length < expected) {
    reasons.push(`${expected - readiness.length} of ${expected} workers are not serving`);
  }
  // Every worker reads the same certificate files: one warning each, not one per worker.
  const warnings = new Set<string>();
  readiness.forEach((r, i) => {
    for (const reason of r.reasons) reasons.push(`worker ${i + 1}: ${reason}`);
    for (const warning of r.warnings ?? []) warnings.add(warning);
  });
  return {
    ready: reasons.length === 0,
    reasons,
    ...(warnings.size > 0 ? { warnings: [...warnings] } : {}),
  };
}

/**
 * Prometheus text from every worker as one exposition: each sample gains a `worker` label, and
 * each metric's HELP and TYPE lines appear once, before its first sample.
 */
export function mergeMetrics(texts: readonly string[]): string {
  const families = new Map<string, { header: string[]; samples: string[] }>();
  texts.forEach((text, index) => {
    const worker = `worker="${index + 1}"`;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('#')) {
        const name = line.split(' ')[2] ?? '';
        const family = families.get(name) ?? { header: [], samples: [] };
        families.set(name, family);
        if (!family.header.includes(line)) family.header.push(line);
        continue;
      }
      const brace = line.indexOf('{');
      const space = line.indexOf(' ');
      const name = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, space);
      const labelled =
        brace >= 0 && brace < space
          ? `${name}{${worker},${line.slice(brace + 1)}`
          : `${name}{${worker}}${line.slice(space)}`;
      // Histogram and summary samples (`_bucket`, `_sum`, `_count`) belong to their family.
      let familyName = name;
      let longest = 0;
      for (const f of families.keys()) {
        if (f.length > longest && name.startsWith(f)) {
          familyName = f;
          longest = f.length;
        }
      }
      const family = families.get(familyName) ?? { header: [], samples: [] };
      families.set(familyName, family);
      family.samples.push(labelled);
    }
  });
  const out: string[] = [];
  for (const family of families.values()) out.push(...family.header, ...family.samples);
  return `${out.join('\n')}\n`;
}
