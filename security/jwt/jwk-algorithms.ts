// Which signature algorithms a JWK may verify, from its key type and curve alone. This is the
// guard against algorithm confusion: an RSA public key is never used as an HMAC secret (HS256
// signed with the public key's bytes), because "oct" keys and HS* algorithms are never allowed,
// and an alg that does not fit the key's kty/crv is refused before any crypto runs.

/** Asymmetric JWS algorithms switchyard verifies; the default allow-list. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

const ASYMMETRIC = new Set<string>(ASYMMETRIC_ALGORITHMS);

export function isAsymmetricAlgorithm(alg: string): alg is AsymmetricAlgorithm {
  return ASYMMETRIC.has(alg);
}

const EC_CURVE: Readonly<Record<string, string>> = {
  ES256: 'P-256',
  ES384: 'P-384',
  ES512: 'P-521',
};

/** The public JWK fields this module reads; the rest go to jose's importJWK as they are. */
export interface PublicJwk {
  readonly kty?: unknown;
  readonly kid?: unknown;
  readonly alg?: unknown;
  readonly use?: unknown;
  readonly crv?: unknown;
  readonly key_ops?: unknown;
  readonly [field: string]: unknown;
}

/** True when `jwk` may verify a signature made with `alg`. */
export function jwkFitsAlgorithm(jwk: PublicJwk, alg: string): boolean {
  if (!isAsymmetricAlgorithm(alg)) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return false;
  switch (jwk.kty) {
    case 'RSA':
      return alg.startsWith('RS') || alg.startsWith('PS');
    case 'EC':
      return EC_CURVE[alg] !== undefined && EC_CURVE[alg] === jwk.crv;
    case 'OKP':
      return (alg === 'EdDSA' || alg === 'Ed25519') && jwk.crv === 'Ed25519';
    default:
      // "oct" (a shared secret) and anything unknown: never.
      return false;
  }
}
