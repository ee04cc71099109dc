// switchyard/grpc-js: switchyard's resolvers, balancers and proxy tunnels inside @grpc/grpc-js
// clients. Importing it loads neither grpc-js (registration does, from the program's own copy)
// nor the logger, the YAML parser or the proxy (test/package/subpath-exports.test.ts).
export { registerWithGrpcJs, GRPC_JS_SCHEMES, type RegisterOptions } from './register.js';
export { registerBalancersWithGrpcJs, GRPC_JS_POLICY_NAMES } from './grpc-js-balancer.js';
export { RESOLVER_OPTIONS_CHANNEL_OPTION } from './grpc-js-resolver.js';
export {
  withProxyTunnels,
  registerProxyPolicyWithGrpcJs,
  PROXY_POLICY_NAME,
  type ProxyTunnelSettings,
} from './grpc-js-proxy.js';
