// The decision for one call under a compiled gRFC A43 policy: deny rules first (the first match
// denies), then allow rules (the first match allows), and no match denies. The decision names
// the rule that decided, for metrics and the trace log.
import type { PeerIdentity } from '../../common/peer-identity.js';
import { headerValues, type HeaderInput } from '../headers.js';
import type { PatternMatcher } from './match-pattern.js';
import type { AuthzPolicy, CompiledClaim, CompiledRule } from './authz-policy.js';

/** What a call brings to the decision. */
export interface AuthzRequest {
  /** The `:path`: `/package.Service/Method`. */
  readonly path: string;
  /** The request metadata (lower-case names). */
  readonly headers: HeaderInput;
  /**
   * The connection's TLS session; undefined for plaintext. `identity` is the verified client
   * certificate (transport/downstream.ts ConnectionInfo.tls has this shape), undefined when the
   * client sent none.
   */
  readonly tls: { readonly identity: PeerIdentity | undefined } | undefined;
  /** Verified JWT claims, for `source.jwt_claims` (switchyard extension); undefined without. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
}

export type AuthzDecision =
  | {
      readonly allowed: true;
      readonly policy: string;
      /** The allow rule that matched. */
      readonly rule: string;
    }
  | {
      readonly allowed: false;
      readonly code: 'PERMISSION_DENIED';
      readonly policy: string;
      /** DENY_RULE: a deny rule matched. NO_MATCH: no allow rule matched. */
      readonly reason: 'DENY_RULE' | 'NO_MATCH';
      /** The deny rule that matched; undefined for NO_MATCH. */
      readonly rule: string | undefined;
      /** For grpc-message: `denied by rule "x" of policy "p"`. */
      readonly message: string;
    };

function any(matchers: readonly PatternMatcher[], value: string): boolean {
  for (const m of matchers) if (m(value)) return true;
  return false;
}

/**
 * RFC 2253 order (most specific first, `,` between): what grpc-go's `cert.Subject.String()`
 * gives, so a subject principal written for a grpc-go server matches here too. PeerIdentity
 * keeps OpenSSL's order (`O=Example, CN=client`); both forms are tried.
 */
function rfc2253(subject: string): string {
  return subject.split(', ').reverse().join(',');
}

/**
 * gRFC A43 principals: no TLS never matches; TLS without a client certificate matches only ""
 * (an empty-string principal); otherwise a URI SAN, a DNS SAN or the subject must match.
 */
function principalMatches(matchers: readonly PatternMatcher[], tls: AuthzRequest['tls']): boolean {
  if (tls === undefined) return false;
  const id = tls.identity;
  if (id === undefined) return any(matchers, '');
  for (const uri of id.uri) if (any(matchers, uri)) return true;
  for (const dns of id.dns) if (any(matchers, dns)) return true;
  return any(matchers, id.subject) || any(matchers, rfc2253(id.subject));
}

/** A claim reached by a dotted name: `realm_access.roles`. */
function claimAt(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * The strings a claim offers for matching: each element of a list, each word of `scope`
 * (RFC 8693 §4.2: space-delimited), a number or boolean as written in JSON.
 */
export function claimStrings(name: string, value: unknown): string[] {
  if (typeof value === 'string') {
    return name === 'scope' || name.endsWith('.scope')
      ? value.split(' ').filter((s) => s)
      : [value];
  }
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value))
    return value.flatMap((v) => (typeof v === 'object' ? [] : claimStrings('', v)));
  return [];
}

function claimsMatch(
  conditions: readonly CompiledClaim[],
  claims: AuthzRequest['claims'],
): boolean {
  if (claims === undefined) return false;
  for (const c of conditions) {
    const offered = claimStrings(c.claim, claimAt(claims, c.claim));
    if (!offered.some((v) => any(c.values, v))) return false;
  }
  return true;
}

function ruleMatches(rule: CompiledRule, request: AuthzRequest): boolean {
  if (rule.paths !== undefined && !any(rule.paths, request.path)) return false;
  for (const h of rule.headers) {
    const values = headerValues(request.headers, h.key);
    // A header sent more than once is one value with commas between (gRFC A43 "values").
    if (values.length === 0 || !any(h.values, values.join(','))) return false;
  }
  if (rule.principals !== undefined && !principalMatches(rule.principals, request.tls)) {
    return false;
  }
  if (rule.claims !== undefined && !claimsMatch(rule.claims, request.claims)) return false;
  return true;
}

/** Decides one call. Synchronous, no I/O; safe to call for every request. */
export function authorize(policy: AuthzPolicy, request: AuthzRequest): AuthzDecision {
  for (const rule of policy.denyRules) {
    if (ruleMatches(rule, request)) {
      return {
        allowed: false,
        code: 'PERMISSION_DENIED',
        policy: policy.name,
        reason: 'DENY_RULE',
        rule: rule.name,
        message: `denied by rule "${rule.name}" of policy "${policy.name}"`,
      };
    }
  }
  for (const rule of policy.allowRules) {
    if (ruleMatches(rule, request)) return { allowed: true, policy: policy.name, rule: rule.name };
  }
  return {
    allowed: false,
    code: 'PERMISSION_DENIED',
    policy: policy.name,
    reason: 'NO_MATCH',
    rule: undefined,
    message: `no allow rule of policy "${policy.name}" matches ${request.path}`,
  };
}
