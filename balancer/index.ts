// switchyard/balancer: per-call policies with health checks and outlier detection. Loads no
// logger, no YAML parser and nothing of the proxy (test/package/subpath-exports.test.ts).
// Endpoint sets to feed it come from switchyard/resolver (createEndpointSet).
export { Balancer } from './balancer.js';
export { createBalancer } from './create-balancer.js';
export {
  policyNames,
  describePolicies,
  validatePolicyName,
  validatePolicySettings,
} from './registry.js';
export type { Host, Connectivity, HealthStatus } from './host.js';
export type { Policy, PickRequest } from './policy.js';
export type { HealthProbe, HealthProbeResult } from './health-checker.js';
export type { BalancerSnapshot, HostSnapshot } from './snapshot.js';
export { BalancerError } from './errors.js';
