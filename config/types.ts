// The validated configuration: plain data, every default filled in, no I/O. The YAML loader and
// the flag-only quick start both produce it; the proxy consumes it.
import type { LogOptions } from '../common/log.js';
import type { Target } from '../common/target.js';
import type { ParsedPolicy, ParsedResolverBlock } from './validators.js';

export interface SocketAddress {
  /** IP address or host name; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

export interface Config {
  readonly listeners: readonly ListenerConfig[];
  /** Tried in order; the first match wins. */
  readonly routes: readonly RouteConfig[];
  readonly clusters: readonly ClusterConfig[];
  readonly admin: AdminConfig | undefined;
  /** Worker processes sharing the listeners; 1 runs everything in one process. */
  readonly workers: number | 'auto';
  readonly log: LogConfig;
  readonly accessLog: AccessLogConfig;
  /** How long in-flight calls may run on after SIGTERM before they are cut. */
  readonly shutdownGraceMs: number;
  /** Where the REST/JSON gateway's descriptors and HTTP rules come from; undefined: none. */
  readonly descriptors?: DescriptorsConfig | undefined;
}

/** The top-level `descriptors:` block. */
export interface DescriptorsConfig {
  /** .proto files read at startup, imports resolved through `importPaths`. */
  readonly protos: { readonly files: readonly string[]; readonly importPaths: readonly string[] };
  /** HttpRules (proto3 JSON form, with `selector`) for methods, overriding annotations. */
  readonly httpRules: readonly HttpRuleConfig[];
  /** Descriptors fetched from the backends by server reflection; undefined: off. */
  readonly reflection?: ReflectionConfig | undefined;
  /** Answer grpc.reflection.v1/v1alpha on every listener with the descriptors above (default on). */
  readonly serveReflection?: boolean;
}

/** `descriptors.reflection:`: which backends are asked, and how often. */
export interface ReflectionConfig {
  /** Cluster names; undefined: every cluster. */
  readonly clusters: readonly string[] | undefined;
  readonly refreshMs: number;
  /** For all of one endpoint's requests together. */
  readonly timeoutMs: number;
}

export interface HttpRuleConfig {
  /** The rule as written (google.api.HttpRule in proto3 JSON form). */
  readonly rule: unknown;
  /** `file:line:col` of the rule, for messages about it. */
  readonly source: string;
}

/** A listener's `gateway:` block: REST/JSON on the same port as gRPC. */
/** A gateway's `cors:` block. */
export interface GatewayCorsConfig {
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds: number;
  readonly allowCredentials: boolean;
}

export interface ListenerGatewayConfig {
  /** Serve gRPC-Web (binary and text) on this port. */
  readonly grpcWeb: boolean;
  /** CORS for pages on other origins; undefined: no CORS headers (same-origin pages only). */
  readonly cors?: GatewayCorsConfig | undefined;
  /** Where GET serves the REST routes' OpenAPI 3.1 document; '' for nowhere. */
  readonly openapiPath: string;
  /** Serve REST/JSON (HTTP/1.1, and HTTP/2 requests that are not application/grpc). */
  readonly rest: boolean;
  /** Request headers forwarded as gRPC metadata; a trailing `*` matches a prefix. */
  readonly forwardHeaders: readonly string[];
  /** Larger request bodies get 413. */
  readonly maxBodyBytes: number;
  /** Write fields holding their default value. */
  readonly emitDefaults: boolean;
  /** Write proto field names instead of lowerCamelCase. */
  readonly useProtoNames: boolean;
}

export interface ServerTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle for client certificates. */
  readonly caFile: string | undefined;
  readonly requireClientCert: boolean;
  /** Oldest TLS version a client may use. */
  readonly minVersion: TlsVersion;
  /** OpenSSL cipher list for TLS 1.2; undefined: Node.js's default. */
  readonly ciphers: string | undefined;
  /** Reload the files when they change. */
  readonly watch: boolean;
  /** /ready names a certificate that expires within this many days; 0 never. */
  readonly expiryWarningDays: number;
  /**
   * Count calls by this part of the verified client certificate's identity
   * (`switchyard_peer_calls_total`); undefined: no such metric.
   */
  readonly peerLabel?: PeerLabel;
}

/** A part of a client certificate's identity, as a metric label. */
export type PeerLabel = 'spiffe' | 'uri' | 'dns' | 'email' | 'cn' | 'subject';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface ListenerConfig {
  readonly name: string;
  /** Run in order on every call the listener takes; may be absent (none). */
  readonly filters?: readonly FilterConfig[];
  readonly address: SocketAddress;
  /** TLS with ALPN h2; undefined means h2c (HTTP/2 with prior knowledge). */
  readonly tls: ServerTlsConfig | undefined;
  /** A connection that sends no complete HTTP/2 preface (or TLS handshake) in time is closed. */
  readonly handshakeTimeoutMs: number;
  /** A client connection with no open stream for this long is closed with GOAWAY; 0 never. */
  readonly idleTimeoutMs: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients. */
  readonly maxConcurrentStreams: number;
  /** A stream whose client has taken no response data for this long is reset; 0 never. */
  readonly stalledStreamTimeoutMs: number;
  /**
   * Response bytes the streams of one client connection may hold while the client is behind;
   * beyond it, its streams that sent the client nothing since the last check are reset.
   */
  readonly connectionBufferLimit: number;
  /**
   * The largest gRPC message a call with message hooks reads, per direction (bytes): a larger
   * one ends the call RESOURCE_EXHAUSTED; a call holds at most this much of a split message.
   */
  readonly maxFilteredMessageBytes: number;
  /** Streams a client may reset on one connection: `burst` at once, then `rate` per second. */
  readonly resetLimit: ResetLimitConfig;
  /** A client that has sent nothing for this long gets a PING (once per quiet spell); 0 never. */
  readonly pingAfterSilenceMs: number;
  /** A client that does not answer that PING in this long is disconnected. */
  readonly pingTimeoutMs: number;
  /**
   * How long a connection the proxy has given up on may linger: one that takes no frames at
   * all (as nghttp2 leaves one after a protocol error; its PING is not even sent), and one
   * whose calls were cut at the end of the shutdown grace.
   */
  readonly closeTimeoutMs: number;
  /** Forward-proxy mode: accept `CONNECT host:port` besides h2c; undefined refuses HTTP/1.x. */
  readonly connect: ConnectConfig | undefined;
  /** REST/JSON gateway on this listener; undefined: off (HTTP/1.x answered 505). */
  readonly gateway?: ListenerGatewayConfig | undefined;
}

/** A listener's forward-proxy mode (clients with `http_proxy` pointing at it). */
export interface ConnectConfig {
  /**
   * CONNECT targets mapped to clusters: `host` (any port) or `host:port`, lower case, to a
   * cluster name. A target whose host is a cluster's name maps to that cluster without an entry.
   */
  readonly clusters: Readonly<Record<string, string>>;
  /**
   * Targets tunnelled as raw bytes (no_proxy syntax: names, `.domain`, IPs, CIDR ranges,
   * `host:port`, `*`). Every other unmapped target is refused with 403.
   */
  readonly passthrough: readonly string[];
  /** Certificate for clients that speak TLS inside the tunnel; undefined: h2c only. */
  readonly tls: TunnelTlsConfig | undefined;
  /** A passthrough tunnel with no bytes either way for this long is closed; 0 never. */
  readonly idleTimeoutMs: number;
  /** Who may open tunnels (HTTP Basic in Proxy-Authorization); empty: anyone who can connect. */
  readonly users: readonly { readonly user: string; readonly password: string }[];
}

export interface TunnelTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface HeaderMatch {
  /** Lower-case header (metadata) name. */
  readonly name: string;
  readonly exact?: string;
  readonly prefix?: string;
  readonly regex?: string;
  /** Only that the header is present (true) or absent (false). */
  readonly present?: boolean;
}

export interface RouteMatch {
  /** Exact gRPC service, `package.Service`. */
  readonly service?: string;
  /** Exact method name; needs `service`. */
  readonly method?: string;
  /** Prefix of the `:path`, e.g. `/routeguide.` or `/routeguide.RouteGuide/List`. */
  readonly prefix?: string;
  /** Every header match must hold. */
  readonly headers: readonly HeaderMatch[];
}

export interface RouteConfig {
  readonly name: string;
  readonly match: RouteMatch;
  readonly cluster: string;
  /**
   * The route's own A6 policies for its calls, in place of the cluster's (and of a service
   * config from the cluster's resolver); both undefined: the cluster decides. `off`: no retry
   * policy of its own, and none of the cluster's either (a non-idempotent method under a
   * cluster that retries).
   */
  readonly retryPolicy?: RetryPolicyConfig | 'off';
  readonly hedgingPolicy?: HedgingPolicyConfig;
  /** Run in order on the route's calls, after the listener's; may be absent (none). */
  readonly filters?: readonly FilterConfig[];
}

/** Metadata edits of the `headers` filter, for one direction. */
export interface HeaderEditsConfig {
  readonly add: Readonly<Record<string, string>>;
  readonly set: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
  readonly rename: Readonly<Record<string, string>>;
}

/** One entry of a `filters:` list, with `file:line:col` of the entry for messages. */
export type FilterConfig =
  | {
      readonly kind: 'headers';
      readonly source: string;
      readonly request: HeaderEditsConfig;
      readonly response: HeaderEditsConfig;
    }
  | {
      readonly kind: 'rateLimit';
      readonly source: string;
      readonly requestsPerSecond: number;
      readonly burst: number;
      /** `route`, `peer`, `metadata.NAME` or `jwt.CLAIM`. */
      readonly key: string;
      readonly maxKeys: number;
    }
  | {
      readonly kind: 'jwt';
      readonly source: string;
      /** security/jwt's JwtConfig as written (durations in ms), plus `forward`. */
      readonly settings: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: 'authz';
      readonly source: string;
      /** Absolute path of the gRFC A43 policy (JSON). */
      readonly policy: string;
    }
  | {
      readonly kind: 'module';
      readonly source: string;
      /** Absolute path. */
      readonly module: string;
      readonly options: Readonly<Record<string, unknown>>;
    };

export interface TimeoutsConfig {
  /** Deadline for calls that arrive without `grpc-timeout`; undefined leaves them unbounded. */
  readonly defaultMs: number | undefined;
  /** Upper bound on any call's deadline; undefined for none. */
  readonly maxMs: number | undefined;
  /** TCP (and TLS) connect timeout for upstream sessions. */
  readonly connectMs: number;
}

export interface UpstreamTlsConfig {
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  /** SNI and the name checked in the certificate; default: the endpoint's host name. */
  readonly serverName: string | undefined;
  /** Skip certificate verification (testing only). */
  readonly insecureSkipVerify: boolean;
}

export interface KeepaliveConfig {
  /**
   * Least time between PINGs on an upstream session carrying calls, sent once it has received
   * nothing for a second; 0 disables.
   */
  readonly timeMs: number;
  /** A PING unanswered for this long closes the session. */
  readonly timeoutMs: number;
  /** PING interval on an upstream session without calls; 0 disables. */
  readonly idleTimeMs: number;
}

/** The endpoints' limit on the RST_STREAM frames they accept per connection (rapid-reset protection). */
export interface ResetLimitConfig {
  /** Resets accepted in a burst; 0 turns the accounting off. */
  readonly burst: number;
  /** Resets per second the allowance grows back by. */
  readonly rate: number;
}

/**
 * The policy by name and its settings as the file gave them (`…Ms` in milliseconds), checked
 * by the policy's own schema and typed per policy (balancer/registry.ts `PolicyConfig`).
 */
export type BalancerConfig = ParsedPolicy;

/**
 * A cluster's `resolver:` settings, checked against its target's scheme (resolver/options.ts
 * `ResolverBlock`): DNS refresh bounds and servers, or the Consul agent and token.
 */
export type ResolverBlockConfig = ParsedResolverBlock;

export interface HealthCheckConfig {
  /** Service name sent in `grpc.health.v1.Health/Check`; "" checks the server as a whole. */
  readonly service: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface OutlierDetectionConfig {
  readonly consecutiveFailures: number;
  /** Eject when this share of calls in the interval failed (0..1); undefined turns it off. */
  readonly failureRateThreshold: number | undefined;
  /** Fewest calls in an interval for the failure rate to count. */
  readonly minimumCalls: number;
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  /** Never eject more than this share (0..1) of a cluster's endpoints. */
  readonly maxEjectedShare: number;
}

/**
 * gRFC A6's `retryPolicy`: a call that fails with one of `retryableStatusCodes` before any
 * response reached the client is sent again, to another endpoint, after a jittered backoff.
 */
export interface RetryPolicyConfig {
  /** Attempts including the first, 2 to 5 (A6 clamps larger values to 5). */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly backoffMultiplier: number;
  /** gRPC status codes, as numbers. */
  readonly retryableStatusCodes: readonly number[];
  /** An attempt that has not answered in this long is cancelled and retried; undefined: none. */
  readonly perTryTimeoutMs: number | undefined;
  /** Retry calls whose client sent `grpc-previous-rpc-attempts` (it retries itself). */
  readonly retryClientRetries: boolean;
}

/**
 * gRFC A6's `hedgingPolicy`: copies of a call go to other endpoints every `hedgingDelayMs`
 * until one answers; the first response headers win and the other copies are cancelled.
 */
export interface HedgingPolicyConfig {
  /** Copies including the first, 2 to 5. */
  readonly maxAttempts: number;
  readonly hedgingDelayMs: number;
  /** Statuses after which the next copy goes at once; any other status ends the call. */
  readonly nonFatalStatusCodes: readonly number[];
}

/** gRFC A6's `retryThrottling`: a token bucket per cluster that stops retries in an outage. */
export interface RetryThrottlingConfig {
  /** Tokens at the start; retries stop while at most half are left. (0, 1000]. */
  readonly maxTokens: number;
  /** Tokens a successful call gives back (a failed attempt takes 1). */
  readonly tokenRatio: number;
}

/** Retries at most `percent` % of the calls plus `minRetriesPerSecond`, over 10 s. */
export interface RetryBudgetConfig {
  readonly percent: number;
  readonly minRetriesPerSecond: number;
}

/** Concurrency limits per cluster; a call over one fails at once with UNAVAILABLE. */
export interface CircuitBreakersConfig {
  readonly maxConcurrentCalls: number;
  /** Calls waiting for an endpoint to become ready. */
  readonly maxPendingCalls: number;
  /** Calls waiting for or making a retry; above it a failure is returned as it is. */
  readonly maxConcurrentRetries: number;
}

export interface ClusterConfig {
  readonly name: string;
  /**
   * Resolver target as written: `dns:///host:port`, `dns+srv:///…`, `consul:///svc`,
   * `static:///…`, `host:port`. It names the target in messages, logs and the admin page.
   */
  readonly target: string;
  /** `target` parsed: what the cluster's resolver is built from. */
  readonly parsedTarget: Target;
  readonly balancer: BalancerConfig;
  readonly timeouts: TimeoutsConfig;
  /** Rewrite `:authority` to this value on the way upstream; undefined keeps the client's. */
  readonly authority: string | undefined;
  /** TLS to the endpoints; undefined means h2c. */
  readonly tls: UpstreamTlsConfig | undefined;
  /**
   * HTTP CONNECT proxy URL (`http://` or `https://`) for the cluster's endpoints and its Consul
   * agent; 'none' for direct; undefined: the environment (`grpc_proxy`, `no_proxy`, …).
   */
  readonly proxy: string | undefined;
  readonly keepalive: KeepaliveConfig;
  /** Resets one upstream connection may send before a connection of its own is opened. */
  readonly resetLimit: ResetLimitConfig;
  /** Extra sessions to one endpoint (opened when the first is at its stream limit) close after this long idle. */
  readonly idleTimeoutMs: number;
  /** Use every ready endpoint when fewer than this share (0..1) are healthy and not ejected. */
  readonly panicThreshold: number;
  readonly healthCheck: HealthCheckConfig | undefined;
  readonly outlierDetection: OutlierDetectionConfig | undefined;
  readonly retryPolicy: RetryPolicyConfig | undefined;
  readonly hedgingPolicy: HedgingPolicyConfig | undefined;
  readonly retryThrottling: RetryThrottlingConfig | undefined;
  readonly retryBudget: RetryBudgetConfig;
  readonly circuitBreakers: CircuitBreakersConfig;
  /** Per-scheme resolver settings (DNS refresh bounds and servers, Consul agent and token). */
  readonly resolver: ResolverBlockConfig;
}

export interface AdminConfig {
  readonly address: SocketAddress;
  /** HTTPS; undefined for plain HTTP. */
  readonly tls?: AdminTlsConfig;
  /** Credentials for protected endpoints; undefined: none needed. */
  readonly auth?: AdminAuthConfig;
}

export interface AdminTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle client certificates must chain to; clients are asked for one when set. */
  readonly caFile: string | undefined;
  readonly minVersion: TlsVersion;
}

export interface AdminAuthConfig {
  /** Bearer token (`authorization: Bearer …`); undefined: none accepted. */
  readonly token: string | undefined;
  /** A client certificate verified against `tls.caFile` is enough. */
  readonly clientCert: boolean;
  /** `writes`: POST endpoints; `all`: every path but /live and /ready. */
  readonly protect: 'writes' | 'all';
}

/** The `log:` block: the options common/log.ts builds a logger from. */
export type LogConfig = LogOptions;

export interface AccessLogConfig {
  /** Share of calls logged: 0 off, 1 every call. */
  readonly sample: number;
  /** `stdout`, `stderr`, or a file path. */
  readonly destination: string;
}
