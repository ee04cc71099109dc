// Every default in one place, and the configuration the flag-only quick start runs.
import { parseTarget } from '../common/target.js';
import { parseSocketAddress } from './address.js';
import type {
  AccessLogConfig,
  BalancerConfig,
  CircuitBreakersConfig,
  ClusterConfig,
  Config,
  ConnectConfig,
  HealthCheckConfig,
  KeepaliveConfig,
  ListenerConfig,
  GatewayCorsConfig,
  ListenerGatewayConfig,
  ReflectionConfig,
  LogConfig,
  OutlierDetectionConfig,
  ResetLimitConfig,
  RetryBudgetConfig,
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
  // A few seconds: a hung backend's connection is given up while its calls still wait (a PING
  // goes out once a connection with calls has received nothing for a second). gRPC's own
  // default is 20 s; a loopback or LAN peer answers a PING in well under a millisecond.
  timeoutMs: 5_000,
  // gRPC core and grpc-go servers accept a client PING at most every 5 min by default
  // (grpc.http2.min_ping_interval_without_data_ms = 300000, keepalive.EnforcementPolicy.MinTime)
  // and answer the third early one with GOAWAY "too_many_pings"; grpc-js servers set no minimum.
  idleTimeMs: 300_000,
};

/**
 * nghttp2's rapid-reset protection (lib/nghttp2_session.h, NGHTTP2_DEFAULT_STREAM_RESET_BURST and
 * _RATE, since 1.57.0, October 2023): 1,000 RST_STREAMs in a burst, then 33 a second; Node's
 * HTTP/2 (so every grpc-js server), nghttp2-based servers and Envoy's oghttp2/nghttp2 codecs use
 * it. A backend that limits harder (Netty's Http2MaxRstFrameDecoder, 200 per 30 s, when
 * enabled) needs its own numbers here.
 */
export const DEFAULT_RESET_LIMIT: ResetLimitConfig = { burst: 1_000, rate: 33 };

/** A listener's TLS settings beyond its files. */
export const DEFAULT_SERVER_TLS = {
  // TLS 1.2 still serves older gRPC clients (grpc-java on Android 9, OpenSSL 1.0.2 builds);
  // TLS 1.0 and 1.1 are off in Node.js already.
  minVersion: 'TLSv1.2' as const,
  watch: true,
  // Two weeks: time for a renewal that failed on Friday to be noticed and fixed.
  expiryWarningDays: 14,
};

/** The admin listener's address when the config names none: loopback only. */
export const DEFAULT_ADMIN_ADDRESS = { host: '127.0.0.1', port: 9901 };

export const DEFAULT_LISTENER = {
  handshakeTimeoutMs: 10_000,
  // As Envoy's default: a client connection with nothing to do for an hour gets a graceful
  // GOAWAY (streams still open finish), so leaked connections do not pile up.
  idleTimeoutMs: 3_600_000,
  // 100: RFC 9113 §6.5.2 recommends no less; HAProxy's default (tune.h2.max-concurrent-streams)
  // and Envoy's edge recommendation; nginx uses 128. Each stream may hold a stream window of
  // response data for a client that is behind, so this also bounds a connection's memory.
  maxConcurrentStreams: 100,
  // As nginx's send_timeout (60 s): a client that takes none of the response for this long
  // is not coming back for it.
  stalledStreamTimeoutMs: 60_000,
  // Above what the default 100 streams can hold (100 x the 256 KiB stream window, plus what
  // waits to be sent): never reached with the defaults, it bounds connections whose
  // maxConcurrentStreams was raised.
  connectionBufferLimit: 32 << 20,
  // grpc-js's default receive limit (4 MiB), which the gateway's body limit also uses: a call
  // that passes a default grpc-js peer passes its message filters.
  maxFilteredMessageBytes: 4 << 20,
  // The rapid-reset defence (CVE-2023-44487). 33/s is nghttp2's refill rate. The burst is
  // Envoy's 500 (overload.premature_reset_total_stream_count: the streams after which it
  // judges resets), below nghttp2's own 1,000 so that switchyard answers first, with
  // GOAWAY(ENHANCE_YOUR_CALM).
  resetLimit: { burst: 500, rate: 33 },
  // One PING after 2 s of silence (then none until the client speaks again): cheap, and it is
  // how a session nghttp2 has ended after a protocol error is found, within 2 s + closeTimeout.
  pingAfterSilenceMs: 2_000,
  // gRPC's keepalive timeout (GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 s).
  pingTimeoutMs: 20_000,
  // Envoy's delayed_close_timeout (1 s): how long a connection the proxy ends may linger.
  closeTimeoutMs: 1_000,
} as const;

/** What `connect: {}` means on a listener (forward-proxy mode). */
export const DEFAULT_CONNECT = {
  clusters: {},
  passthrough: [],
  tls: undefined,
  // As Envoy's TCP proxy: a raw tunnel with nothing flowing for an hour is closed.
  idleTimeoutMs: 3_600_000,
  users: [],
} as const satisfies ConnectConfig;

/**
 * Linkerd's classic retry budget: retries at most 20 % of the calls, plus 10 a second so that
 * a quiet cluster can still retry, counted over 10 s.
 */
export const DEFAULT_RETRY_BUDGET: RetryBudgetConfig = { percent: 20, minRetriesPerSecond: 10 };

/**
 * Far above what one proxy process carries (the benchmark keeps at most 128 calls in flight), so that they only stop a runaway: Envoy's 1024 would trip under ordinary load on a
 * proxy in front of many clients, and a call over a limit fails at once.
 */
export const DEFAULT_CIRCUIT_BREAKERS: CircuitBreakersConfig = {
  maxConcurrentCalls: 100_000,
  maxPendingCalls: 10_000,
  maxConcurrentRetries: 1_000,
};

export const DEFAULT_CLUSTER = {
  balancer: { policy: 'round_robin', settings: {} },
  timeouts: DEFAULT_TIMEOUTS,
  authority: undefined,
  tls: undefined,
  proxy: undefined,
  keepalive: DEFAULT_KEEPALIVE,
  resetLimit: DEFAULT_RESET_LIMIT,
  idleTimeoutMs: 60_000,
  panicThreshold: 0.5,
  healthCheck: undefined,
  outlierDetection: undefined,
  retryPolicy: undefined,
  hedgingPolicy: undefined,
  retryThrottling: undefined,
  retryBudget: DEFAULT_RETRY_BUDGET,
  circuitBreakers: DEFAULT_CIRCUIT_BREAKERS,
  resolver: {},
} as const satisfies Omit<ClusterConfig, 'name' | 'target' | 'parsedTarget'>;

/** What `healthCheck: {}` means; without the key a cluster runs no health checks. */
export const DEFAULT_HEALTH_CHECK: HealthCheckConfig = {
  service: '',
  // Envoy's usual gRPC settings: an endpoint that stops answering is out after 3 × 5 s, and
  // back after one good check, since passive signals (outlier detection) catch relapses.
  intervalMs: 5_000,
  timeoutMs: 1_000,
  healthyThreshold: 1,
  unhealthyThreshold: 3,
};

/** What `outlierDetection: {}` means; without the key nothing is ejected. */
export const DEFAULT_OUTLIER_DETECTION: OutlierDetectionConfig = {
  // Envoy's defaults: 5 failures in a row, a 10 s interval, 30 s first ejection, 5 min at most,
  // and at most 10 % of the endpoints out (one is always allowed). The failure-rate rule is
  // off, as Envoy enforces its failure-percentage rule 0 % of the time by default.
  consecutiveFailures: 5,
  failureRateThreshold: undefined,
  minimumCalls: 50,
  intervalMs: 10_000,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectedShare: 0.1,
};

export const DEFAULT_LOG: LogConfig = { level: 'info', format: 'auto' };

export const DEFAULT_ACCESS_LOG: AccessLogConfig = { sample: 0, destination: 'stdout' };

export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

export function listenerConfig(name: string, address: SocketAddress): ListenerConfig {
  return { name, address, tls: undefined, ...DEFAULT_LISTENER, connect: undefined };
}

export interface QuickStartOptions {
  /** `host:port` to accept h2c on. */
  readonly listen: string;
  /** Any resolver target, or a comma-separated `host:port` list. */
  readonly upstream: string;
  /** A registered policy name (checked by the caller: config/ does not know the registry). */
  readonly balancer?: string;
  /**
   * Serve REST/JSON and gRPC-Web too, from these .proto files and import paths; CORS for
   * these origins when there are any (checked by the caller, as the YAML loader checks them).
   */
  readonly gateway?: {
    readonly protos: readonly string[];
    readonly protoPaths: readonly string[];
    readonly corsOrigins?: readonly string[];
  };
}

/**
 * The config `switchyard --listen A --upstream B` runs: everything to one cluster, parsed as
 * the same lines in a file would be. Throws `TargetError` for a bad upstream.
 */
export function quickStartConfig(options: QuickStartOptions): Config {
  const address = parseSocketAddress(options.listen);
  if (typeof address === 'string') throw new Error(`--listen: ${address}`);
  return {
    listeners: [
      options.gateway === undefined
        ? listenerConfig('main', address)
        : { ...listenerConfig('main', address), gateway: quickStartGateway(options.gateway) },
    ],
    routes: [{ name: 'default', match: { headers: [] }, cluster: 'default' }],
    clusters: [
      {
        ...DEFAULT_CLUSTER,
        name: 'default',
        target: options.upstream,
        parsedTarget: parseTarget(options.upstream),
        // A policy named alone has no settings, and every policy takes none.
        balancer: { policy: options.balancer ?? 'round_robin', settings: {} } as BalancerConfig,
      },
    ],
    admin: undefined,
    workers: 1,
    log: DEFAULT_LOG,
    accessLog: DEFAULT_ACCESS_LOG,
    shutdownGraceMs: DEFAULT_SHUTDOWN_GRACE_MS,
    ...(options.gateway !== undefined && {
      descriptors: {
        protos: { files: options.gateway.protos, importPaths: options.gateway.protoPaths },
        // Without --proto, the backend's own reflection says what it serves.
        reflection: options.gateway.protos.length === 0 ? DEFAULT_REFLECTION : undefined,
        serveReflection: true,
        httpRules: [],
      },
    }),
  };
}

function quickStartGateway(
  options: NonNullable<QuickStartOptions['gateway']>,
): ListenerGatewayConfig {
  const origins = options.corsOrigins ?? [];
  if (origins.length === 0) return DEFAULT_GATEWAY;
  return { ...DEFAULT_GATEWAY, cors: { ...DEFAULT_CORS, allowOrigins: [...origins] } };
}

/** `descriptors.reflection:` when given as `{}`: every cluster. */
export const DEFAULT_REFLECTION: ReflectionConfig = {
  clusters: undefined,
  // A minute: a rolling deploy shows within one, and a 100-service backend answers about
  // 200 small requests per endpoint per refresh.
  refreshMs: 60_000,
  timeoutMs: 5_000,
};

/** A listener's `gateway:` block when given as `{}`. */
export const DEFAULT_GATEWAY: ListenerGatewayConfig = {
  grpcWeb: true,
  openapiPath: '/openapi.json',
  rest: true,
  forwardHeaders: ['authorization', 'x-*'],
  // 4 MiB: grpc-js's default receive limit, so a body that fits reaches a default backend.
  maxBodyBytes: 4 * 1024 * 1024,
  emitDefaults: false,
  useProtoNames: false,
};

/** A gateway's `cors:` block when given as `{}`. */
export const DEFAULT_CORS: GatewayCorsConfig = {
  allowOrigins: ['*'],
  allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  // What gRPC-Web and Connect browser clients send, and x-* for application metadata.
  allowHeaders: [
    'content-type',
    'authorization',
    'x-grpc-web',
    'x-user-agent',
    'grpc-timeout',
    'connect-protocol-version',
    'connect-timeout-ms',
    'x-*',
  ],
  exposeHeaders: [],
  // 2 h: Chromium's cap; Firefox allows 24 h.
  maxAgeSeconds: 7200,
  allowCredentials: false,
};
