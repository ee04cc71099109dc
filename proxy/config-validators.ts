// The config loader's policy and resolver checks, taken from the balancer registry and the
// resolver's target and option parsers (config/ may not import them itself).
import { policyNames, validatePolicyName, validatePolicySettings } from '../balancer/registry.js';
import type { ConfigValidators } from '../config/validators.js';
import { TargetError } from '../resolver/errors.js';
import { validateResolverOptions } from '../resolver/options.js';
import { parseTarget } from '../resolver/target.js';

function targetProblem(target: string): string | undefined {
  try {
    parseTarget(target);
    return undefined;
  } catch (err) {
    if (err instanceof TargetError) return err.message;
    throw err;
  }
}

export const configValidators: ConfigValidators = {
  policyNames,
  validatePolicyName,
  validatePolicySettings,
  validateTarget: targetProblem,
  validateResolverOptions(target, options) {
    const result = validateResolverOptions(parseTarget(target).scheme, options);
    return 'errors' in result ? result.errors : [];
  },
};
