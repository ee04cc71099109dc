// The `authz` built-in: a thin wrapper over security/authz. Decides each call from a gRFC A43
// policy file (deny rules first, no match denied) with the method path, the request metadata,
// the mTLS peer identity and the claims an earlier jwt filter verified. Synchronous.
import { authorize, loadAuthzPolicyFile } from '../security/authz/index.js';
import type { Filter, FilterReject } from './filter.js';
import type { DecisionCounter } from './filter-metrics.js';

/** gRPC status PERMISSION_DENIED. */
const PERMISSION_DENIED = 7;

export interface AuthzFilterEnvironment {
  readonly allowed?: DecisionCounter;
  readonly denied?: DecisionCounter;
}

/** `policyFile`: an A43 policy (JSON); read now, so a bad file fails at config load. */
export function authzFilter(policyFile: string, env: AuthzFilterEnvironment = {}): Filter {
  const policy = loadAuthzPolicyFile(policyFile);
  const { allowed, denied } = env;
  return {
    name: 'authz',
    onRequestHeaders(ctx, md): FilterReject | undefined {
      const decision = authorize(policy, {
        path: ctx.method,
        headers: (name) => {
          const v = md.get(name);
          return v === undefined ? [] : [v];
        },
        tls: ctx.peer.secure ? { identity: ctx.peer.identity } : undefined,
        claims: ctx.claims,
      });
      if (decision.allowed) {
        if (allowed !== undefined) allowed.value++;
        return undefined;
      }
      if (denied !== undefined) denied.value++;
      return { code: PERMISSION_DENIED, message: decision.message };
    },
  };
}
