// JWT verification for gRPC calls, transport-free: make a verifier once per provider, then hand
// it each call's metadata. Built on jose; keys from a JWKS URL (cached, refetched on an unknown
// kid at most once per refreshCooldown, the last good set kept when the server is down), a
// file, or inline.
//
//   import { createJwtVerifier } from '../security/jwt/index.js';
//
//   const verifier = createJwtVerifier(
//     {
//       issuer: 'https://issuer.example',
//       audiences: ['greeter'],
//       jwks: { uri: 'https://issuer.example/jwks.json', timeout: 5000 }, // durations in ms
//       scopes: ['greeter:call'],
//       forwardPayloadHeader: 'x-jwt-payload',
//     },
//     { onJwksError: (err) => log.warn({ err }, err.message) }, // now: () => ms, for tests
//   ); // throws SecurityError SWY_ERR_JWT_CONFIG for unusable settings
//   await verifier.prefetch(); // optional: fetch the JWKS before the listener goes ready
//
//   // headers: flat [name, value, …], a record, or a function. verifySync answers without
//   // waiting when no key is needed (a remembered token, about 2 µs; or one refused on sight):
//   const result = verifier.verifySync(headers) ?? (await verifier.verify(headers));
//   if (result.ok) {
//     // result.claims (verified payload), result.forwardHeaders ([name, value] to add upstream)
//   } else {
//     // result.code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED'; result.reason: JwtFailureReason;
//     // result.message for grpc-message; result.wwwAuthenticate for an HTTP front
//   }
//   verifier.close(); // at shutdown
//
// verify() never rejects and never waits longer than jwks.timeout: a JWKS server that hangs or
// serves garbage gives UNAUTHENTICATED / JWKS_UNAVAILABLE (and onJwksError), and calls within
// jwks.failedRefetch after a failed fetch fail at once.
export {
  createJwtVerifier,
  JwtVerifier,
  tokenScopes,
  type JwtFailureReason,
  type JwtResult,
  type JwtVerifierOptions,
} from './jwt-verifier.js';
export {
  JWT_DEFAULTS,
  resolveJwtConfig,
  type ClaimValue,
  type JwtConfig,
  type ResolvedJwtConfig,
  type TokenLocation,
} from './jwt-config.js';
export {
  ASYMMETRIC_ALGORITHMS,
  jwkFitsAlgorithm,
  type AsymmetricAlgorithm,
} from './jwk-algorithms.js';
export { MAX_JWKS_BYTES, parseKeySet } from './jwks-source.js';
export type { HeaderInput } from '../headers.js';
export { SecurityError, type SecurityErrorCode } from '../errors.js';
