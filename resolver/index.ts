// switchyard/resolver: a target string in, live endpoint sets out. Loads no logger, no YAML
// parser, no HTTP client package and nothing of the proxy (test/package/subpath-exports.test.ts).
export { createResolver, resolverOptionsFromBlock } from './create-resolver.js';
export type { Resolver, ResolverListener } from './resolver.js';
export type { Endpoint, EndpointSet, EndpointInit } from './endpoint.js';
export { createEndpoint, createEndpointSet, endpointKey, sameEndpointSet } from './endpoint.js';
export { parseTarget, formatTarget, TARGET_SCHEMES, DEFAULT_DNS_PORT } from './target.js';
export type {
  Target,
  TargetScheme,
  DnsTarget,
  SrvTarget,
  ConsulTarget,
  StaticTarget,
} from './target.js';
export {
  validateResolverOptions,
  RESOLVER_OPTION_SCHEMA,
  DEFAULT_DNS_OPTIONS,
  DEFAULT_CONSUL_OPTIONS,
} from './options.js';
export type { ResolverOptions, DnsResolverOptions, ConsulResolverOptions } from './options.js';
export { ResolutionError, TargetError, ResolverOptionsError } from './errors.js';
