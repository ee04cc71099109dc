// The `jwt` built-in: a thin wrapper over security/jwt. Verifies the bearer token, leaves the
// verified claims in `ctx.claims` for later filters (authz, a rate limit keyed by jwt.sub,
// headers with ${claims.…}), adds the headers the verifier forwards, and by default strips the
// token before the call goes upstream. A token seen before is answered from the verifier's
// cache without waiting; a new one waits for its signature check (and, at worst, a JWKS fetch,
// bounded by jwks.timeout).
import { createJwtVerifier, type JwtConfig, type JwtResult } from '../security/jwt/index.js';
import type { Filter, FilterContext, FilterMetadata, FilterReject } from './filter.js';
import type { DecisionCounter } from './filter-metrics.js';

const STATUS = { UNAUTHENTICATED: 16, PERMISSION_DENIED: 7 } as const;

export interface JwtFilterSettings extends JwtConfig {
  /** Keep the token in the metadata sent upstream; default false (stripped, as Envoy). */
  readonly forward?: boolean;
}

export interface JwtFilterEnvironment {
  readonly allowed?: DecisionCounter;
  readonly denied?: DecisionCounter;
  /** Wall-clock ms for exp and nbf; default Date.now. */
  readonly now?: () => number;
}

export function jwtFilter(settings: JwtFilterSettings, env: JwtFilterEnvironment = {}): Filter {
  const { forward, ...config } = settings;
  const verifier = createJwtVerifier(config, env.now !== undefined ? { now: env.now } : {});
  const { allowed, denied } = env;
  const decide = (
    result: JwtResult,
    ctx: FilterContext,
    md: FilterMetadata,
  ): FilterReject | undefined => {
    if (!result.ok) {
      if (denied !== undefined) denied.value++;
      return { code: STATUS[result.code], message: result.message };
    }
    if (allowed !== undefined) allowed.value++;
    ctx.claims = result.claims;
    if (forward !== true) md.remove(result.from);
    for (const [name, value] of result.forwardHeaders) md.set(name, value);
    return undefined;
  };
  return {
    name: 'jwt',
    onRequestHeaders(ctx, md) {
      const headers = (name: string): readonly string[] => {
        const v = md.get(name);
        return v === undefined ? [] : [v];
      };
      const now = verifier.verifySync(headers);
      if (now !== undefined) return decide(now, ctx, md);
      return verifier.verify(headers).then((r) => decide(r, ctx, md));
    },
    close() {
      verifier.close();
    },
  };
}
