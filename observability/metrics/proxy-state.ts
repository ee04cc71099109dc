// What metrics and the admin API read from a running proxy, and the one state name each
// endpoint shows under (metrics label, /clusters field, the admin page's row colour).
import type { DescriptorsView } from '../../proxy/descriptor-source.js';
import type { FilterDecisions } from '../../filter/filter-metrics.js';
import type { Connectivity, HealthStatus } from '../../balancer/host.js';
import type { Config } from '../../config/types.js';
import type { Cluster } from '../../upstream/cluster.js';
import type { Listener } from '../../proxy/listener.js';

/**
 * The read-only surface of a `Switchyard` that observability needs. `Switchyard` satisfies it; tests may
 * hand in a smaller fake. Everything is read at request or scrape time, never cached, so a
 * reload is seen at once.
 */
export interface ObservedProxy {
  readonly config: Config;
  readonly inFlight: number;
  clusterList(): IterableIterator<Cluster>;
  listenerList(): IterableIterator<Listener>;
  /** The gateway's descriptors and what reflection found; undefined without `descriptors:`. */
  descriptorsView?(): DescriptorsView | undefined;
  /** What filters decided (rate limits admitted and refused), when the proxy counts it. */
  readonly filterDecisions?: FilterDecisions;
}

/**
 * An endpoint's state, most telling first:
 * - `ejected`: outlier detection took it out for a while;
 * - `failing`: its last connect failed, the pool is backing off;
 * - `connecting` / `idle`: no usable connection yet;
 * - `unhealthy`: connected, but health checks fail;
 * - `checking`: connected, waiting for the first health check;
 * - `ready`: connected, healthy (or unchecked), may take calls.
 */
export type EndpointState =
  'ready' | 'checking' | 'idle' | 'connecting' | 'failing' | 'unhealthy' | 'ejected';

/** Every state, in the order metrics list them. */
export const ENDPOINT_STATES: readonly EndpointState[] = [
  'ready',
  'checking',
  'idle',
  'connecting',
  'failing',
  'unhealthy',
  'ejected',
];

/** The fields of a `Host` (or a `HostSnapshot`) the state is made of. */
export interface EndpointStateInput {
  readonly connectivity: Connectivity;
  readonly health: HealthStatus;
  readonly ejected: boolean;
}

export function endpointState(host: EndpointStateInput): EndpointState {
  if (host.ejected) return 'ejected';
  if (host.connectivity !== 'ready') return host.connectivity;
  if (host.health === 'unhealthy') return 'unhealthy';
  if (host.health === 'pending') return 'checking';
  return 'ready';
}
