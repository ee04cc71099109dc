// The config loader's policy, resolver and proxy checks, taken from the balancer registry, the
// resolver's option parser and the upstream proxy's URL parser (config/ may not import them
// itself), and the types of what they return, which a validated Config holds.
import {
  parsePolicyConfig,
  policyNames,
  validatePolicyName,
  type PolicyConfig,
} from '../balancer/registry.js';
import type { ConfigValidators } from '../config/validators.js';
import { parseProxyUrl } from '../egress/proxy-settings.js';
import { parseResolverBlock, type ResolverBlock } from '../resolver/options.js';

declare module '../config/validators.js' {
  /** A validated Config's `balancer` and `resolver` are the balancer's and resolver's types. */
  interface ParsedTypes {
    readonly policy: PolicyConfig;
    readonly resolverBlock: ResolverBlock;
  }
}

export const configValidators: ConfigValidators = {
  policyNames,
  validatePolicyName,
  proxyProblem(url) {
    const parsed = parseProxyUrl(url, 'config');
    return typeof parsed === 'string' ? parsed : undefined;
  },
  parsePolicy(name, settings) {
    const result = parsePolicyConfig(name, settings);
    return 'issues' in result ? { issues: result.issues } : { value: result.config };
  },
  parseResolverBlock(target, block) {
    const result = parseResolverBlock(target.scheme, block);
    return 'errors' in result ? { issues: result.errors } : { value: result.block };
  },
};
