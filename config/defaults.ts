// Every default in one place, and the configuration the flag-only quick start runs.
import { parseSocketAddress } from './address.js';
import type {
  ClusterConfig,
  Config,
  KeepaliveConfig,
  ListenerConfig,
  SocketAddress,
  TimeoutsConfig,
} from './types.js';

export const DEFAULT_TIMEOUTS: TimeoutsConfig = {
  defaultMs: undefined,
  maxMs: undefined,
  // Long enough for a TLS handshake across a region; short enough that a blackholed endpoint
  // does not hold calls for grpc's 20 s.
  connectMs: 5_000,
};

export const DEFAULT_KEEPALIVE: KeepaliveConfig = {
  timeMs: 30_000,
  timeoutMs: 10_000,
};

export const DEFAULT_LISTENER = {
  handshakeTimeoutMs: 10_000,
  // As Envoy's default: a client connection with nothing to do for an hour gets a graceful
  // GOAWAY (streams still open finish), so leaked connections do not pile up.
  idleTimeoutMs: 3_600_000,
  maxConcurrentStreams: 10_000,
} as const;

export const DEFAULT_CLUSTER = {
  balancer: { policy: 'round_robin', settings: {} },
  timeouts: DEFAULT_TIMEOUTS,
  authority: undefined,
  tls: undefined,
  proxy: undefined,
  keepalive: DEFAULT_KEEPALIVE,
  idleTimeoutMs: 60_000,
  panicThreshold: 0.5,
  healthCheck: undefined,
  outlierDetection: undefined,
  resolver: {},
} as const satisfies Omit<ClusterConfig, 'name' | 'target'>;

export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

export function listenerConfig(name: string, address: SocketAddress): ListenerConfig {
  return { name, address, tls: undefined, ...DEFAULT_LISTENER };
}

export interface QuickStartOptions {
  /** `host:port` to accept h2c on. */
  readonly listen: string;
  /** Any resolver target, or a comma-separated `host:port` list. */
  readonly upstream: string;
  readonly balancer?: string;
}

/** The config `switchyard --listen A --upstream B` runs: everything to one cluster. */
export function quickStartConfig(options: QuickStartOptions): Config {
  const address = parseSocketAddress(options.listen);
  if (typeof address === 'string') throw new Error(`--listen: ${address}`);
  return {
    listeners: [listenerConfig('main', address)],
    routes: [{ name: 'default', match: { headers: [] }, cluster: 'default' }],
    clusters: [
      {
        ...DEFAULT_CLUSTER,
        name: 'default',
        target: options.upstream,
        balancer: { policy: options.balancer ?? 'round_robin', settings: {} },
      },
    ],
    admin: undefined,
    workers: 1,
    log: { level: 'info', format: 'auto' },
    accessLog: { sample: 0, destination: 'stdout' },
    shutdownGraceMs: DEFAULT_SHUTDOWN_GRACE_MS,
  };
}
