// Authorization in the gRFC A43 policy format, transport-free: load a policy once, then decide
// each call from its path, metadata, TLS peer identity and (optionally) verified JWT claims.
//
//   import { loadAuthzPolicyFile, authorize } from '../security/authz/index.js';
//
//   const policy = loadAuthzPolicyFile('./policies/greeter.json'); // throws SecurityError
//   // (code SWY_ERR_AUTHZ_POLICY, message `file:line:col: key.path: why`) at load time
//
//   const decision = authorize(policy, {
//     path: '/helloworld.Greeter/SayHello',
//     headers,                        // flat [name, value, …], a record, or (name) => values
//     tls: connectionInfo.tls,        // { identity: PeerIdentity | undefined } | undefined
//     claims: jwtResult.claims,       // optional, for source.jwt_claims
//   });
//   if (!decision.allowed) endCall(PERMISSION_DENIED, decision.message); // decision.rule decided
//
// Semantics (gRFC A43, as grpc-go's and grpc-java's `authz` packages read the same file):
// - deny_rules first, the first match denies; then allow_rules, the first match allows; no
//   match denies. A rule matches when its source and its request both match; a missing
//   source or request matches anything.
// - Patterns: "abc" exact, "abc*" prefix, "*abc" suffix, "*" any non-empty value.
// - principals (ORed): plaintext never matches; TLS without a client certificate matches only
//   ""; otherwise any URI SAN, any DNS SAN, or the subject (OpenSSL's `O=…, CN=…` or RFC 2253's
//   `CN=…,O=…`) must match.
// - paths (ORed) match `:path`. headers (ANDed) need the header present, its values joined
//   with "," matching one pattern. Pseudo-headers, grpc-*, host and hop-by-hop headers are
//   refused at load, as in grpc-go.
// - Switchyard extension, `source.jwt_claims: [{ claim, values }]` (ANDed with principals and
//   with each other): a verified JWT claim (dots reach into objects; a list or a `scope`
//   string offers each element) must match one pattern. grpc-go and grpc-java refuse a file
//   with this key (unknown field), so a policy shared with them must not use it.
export {
  compileAuthzPolicy,
  isUnsupportedHeaderKey,
  loadAuthzPolicyFile,
  parseAuthzPolicy,
  MAX_POLICY_BYTES,
  type AuthzPolicy,
  type CompiledRule,
} from './authz-policy.js';
export { authorize, type AuthzDecision, type AuthzRequest } from './authorize.js';
export type { HeaderInput } from '../headers.js';
export { SecurityError, type SecurityErrorCode } from '../errors.js';
