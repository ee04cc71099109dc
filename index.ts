// The switchyard library: resolvers and balancers to embed, grpc-js registration, and the
// proxy itself for programs that run it in-process.

// Resolvers: a target string in, live endpoint sets out.
export {
  createResolver,
  resolverForTarget,
  resolverOptionsFromBlock,
} from './resolver/create-resolver.js';
export type { Resolver, ResolverListener } from './resolver/resolver.js';
export type { Endpoint, EndpointSet, EndpointInit } from './resolver/endpoint.js';
export {
  createEndpoint,
  createEndpointSet,
  endpointKey,
  sameEndpointSet,
} from './resolver/endpoint.js';
export { parseTarget, formatTarget, TARGET_SCHEMES, DEFAULT_DNS_PORT } from './resolver/target.js';
export type {
  Target,
  TargetScheme,
  DnsTarget,
  SrvTarget,
  ConsulTarget,
  StaticTarget,
} from './resolver/target.js';
export {
  validateResolverOptions,
  parseResolverBlock,
  blockOptions,
  RESOLVER_OPTION_SCHEMA,
  DEFAULT_DNS_OPTIONS,
  DEFAULT_CONSUL_OPTIONS,
} from './resolver/options.js';
export type {
  ResolverOptions,
  ResolverBlock,
  DnsResolverOptions,
  ConsulResolverOptions,
} from './resolver/options.js';
export { ResolutionError, TargetError, ResolverOptionsError } from './resolver/errors.js';

// Balancers: per-call policies with health checks and outlier detection.
export { Balancer } from './balancer/balancer.js';
export { createBalancer } from './balancer/create-balancer.js';
export {
  policyNames,
  describePolicies,
  validatePolicyName,
  validatePolicySettings,
  parsePolicyConfig,
  policyFromConfig,
  type PolicyConfig,
} from './balancer/registry.js';
export type { Host, Connectivity, HealthStatus } from './balancer/host.js';
export type { Policy, PickRequest } from './balancer/policy.js';
export type { HealthProbe, HealthProbeResult } from './balancer/health-checker.js';
export type { BalancerSnapshot, HostSnapshot } from './balancer/snapshot.js';
export { BalancerError } from './balancer/errors.js';

// Embedding in @grpc/grpc-js clients (grpc-js is loaded only when registration runs).
export { registerWithGrpcJs, GRPC_JS_SCHEMES } from './embed/register.js';
export { registerBalancersWithGrpcJs, GRPC_JS_POLICY_NAMES } from './embed/grpc-js-balancer.js';
export { RESOLVER_OPTIONS_CHANNEL_OPTION } from './embed/grpc-js-resolver.js';
export {
  withProxyTunnels,
  registerProxyPolicyWithGrpcJs,
  PROXY_POLICY_NAME,
} from './embed/grpc-js-proxy.js';

// Filters: one API for the proxy's call path and for grpc-js clients and servers.
export type {
  Filter,
  FilterContext,
  FilterMetadata,
  FilterPeer,
  FilterReject,
  FilterCallEnd,
  FilterFactory,
  FilterEnvironment,
  FilterSite,
  RequestVerdict,
  FilterMessage,
  MessageMode,
} from './filter/filter.js';
export {
  filterClientInterceptor,
  filterServerInterceptor,
  type FilterInterceptorOptions,
} from './filter/grpc-js-interceptors.js';
export { headersFilter } from './filter/headers-filter.js';
export { rateLimitFilter, type RateLimitSettings } from './filter/rate-limit-filter.js';
export { FilterConfigError } from './filter/filter-errors.js';

// The proxy.
export { Switchyard, type SwitchyardOptions } from './proxy/switchyard.js';
export { quickStartConfig } from './config/defaults.js';
export type { Config, ClusterConfig, ListenerConfig, RouteConfig } from './config/types.js';
export { SwitchyardError } from './common/errors.js';
export { createTunnelAgent } from './egress/tunnel-agent.js';
export { loadConfig, parseConfig } from './config/load-config.js';
export { configValidators } from './proxy/config-validators.js';
export { ConfigError } from './config/config-error.js';
export { redactConfig } from './config/redact-config.js';
