// Verifies the bearer token of one call: find it in the metadata, refuse it cheaply when it is
// too large, malformed or signed with an algorithm outside the allow-list, pick its key from the
// JWKS, check the signature and claims with jose, then the required claims and scopes. Every
// outcome is a value (JwtResult); nothing here throws for a bad token.
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { SecurityError } from '../errors.js';
import { headerValues, type HeaderInput } from '../headers.js';
import {
  resolveJwtConfig,
  type ClaimValue,
  type JwtConfig,
  type ResolvedJwtConfig,
} from './jwt-config.js';
import { JwksSource } from './jwks-source.js';

/** Why a token was refused: stable names for metrics, logs and tests. */
export type JwtFailureReason =
  /** UNAUTHENTICATED: no token in any configured header. */
  | 'TOKEN_MISSING'
  /** UNAUTHENTICATED: not three base64url parts of JSON objects, or more than one token. */
  | 'TOKEN_MALFORMED'
  /** UNAUTHENTICATED: longer than maxTokenBytes; not decoded at all. */
  | 'TOKEN_TOO_LARGE'
  /** UNAUTHENTICATED: `alg` is none, HS*, or outside the configured list. */
  | 'ALG_NOT_ALLOWED'
  /** UNAUTHENTICATED: no key in the set has the token's kid (after one refetch). */
  | 'UNKNOWN_KID'
  /** UNAUTHENTICATED: the signature does not verify. */
  | 'BAD_SIGNATURE'
  /** UNAUTHENTICATED: `exp` is past (beyond the clock skew). */
  | 'EXPIRED'
  /** UNAUTHENTICATED: the token has no `exp` and requireExpiration is on. */
  | 'EXPIRATION_MISSING'
  /** UNAUTHENTICATED: `nbf` is ahead (beyond the clock skew). */
  | 'NOT_YET_VALID'
  /** UNAUTHENTICATED: `iss` is not the configured issuer. */
  | 'WRONG_ISSUER'
  /** UNAUTHENTICATED: no configured audience is in `aud`. */
  | 'WRONG_AUDIENCE'
  /** UNAUTHENTICATED: no key set could be fetched or read (the message says why). */
  | 'JWKS_UNAVAILABLE'
  /** PERMISSION_DENIED: a required claim is absent. */
  | 'MISSING_CLAIM'
  /** PERMISSION_DENIED: a required claim has another value. */
  | 'CLAIM_MISMATCH'
  /** PERMISSION_DENIED: a required scope is absent. */
  | 'INSUFFICIENT_SCOPE';

export type JwtResult =
  | {
      readonly ok: true;
      /** The verified payload. */
      readonly claims: JWTPayload;
      /** The token as found (without the prefix), for a caller that strips or forwards it. */
      readonly token: string;
      /** The header the token came from. */
      readonly from: string;
      /** `[name, value]` pairs to add upstream: forwardPayloadHeader, when configured. */
      readonly forwardHeaders: readonly (readonly [string, string])[];
    }
  | {
      readonly ok: false;
      readonly code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED';
      readonly reason: JwtFailureReason;
      /** For grpc-message and the log: says why, never echoes the token. */
      readonly message: string;
      /** RFC 6750 challenge for an HTTP front: `Bearer error="invalid_token", …`. */
      readonly wwwAuthenticate: string;
    };

export interface JwtVerifierOptions {
  /** Wall-clock milliseconds since the epoch; default Date.now. Drives exp/nbf and rate limits. */
  readonly now?: () => number;
  /** Told of every failure to fetch or read a remote JWKS, for the log. */
  readonly onJwksError?: (err: SecurityError) => void;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function failure(
  code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED',
  reason: JwtFailureReason,
  message: string,
): JwtResult {
  const error =
    reason === 'TOKEN_MISSING'
      ? ''
      : code === 'PERMISSION_DENIED'
        ? 'insufficient_scope'
        : 'invalid_token';
  const quoted = message.replace(/["\\]/g, "'");
  return {
    ok: false,
    code,
    reason,
    message,
    wwwAuthenticate:
      error === '' ? 'Bearer' : `Bearer error="${error}", error_description="${quoted}"`,
  };
}

const unauthenticated = (reason: JwtFailureReason, message: string) =>
  failure('UNAUTHENTICATED', reason, message);

/** A base64url part decoded to a JSON object, or undefined. */
function decodePart(part: string): Record<string, unknown> | undefined {
  // Length 4n+1 is never valid base64; Buffer would silently drop the last character.
  if (!B64URL.test(part) || part.length % 4 === 1) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function claimAt(claims: JWTPayload, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part))
      return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The scopes a token grants: `scope` (RFC 8693, space-delimited) and `scp` (list or string). */
export function tokenScopes(claims: JWTPayload): Set<string> {
  const out = new Set<string>();
  for (const name of ['scope', 'scp']) {
    const value = claims[name];
    if (typeof value === 'string') for (const s of value.split(' ')) if (s) out.add(s);
    if (Array.isArray(value)) for (const s of value) if (typeof s === 'string') out.add(s);
  }
  return out;
}

/** A verified token remembered: its result, until when it holds, and under which key set. */
interface CachedToken {
  readonly token: string;
  readonly result: JwtResult & { ok: true };
  /** Wall-clock ms from which the token counts as expired (exp + skew); Infinity without exp. */
  readonly expiresAt: number;
  readonly generation: number;
}

export class JwtVerifier {
  private readonly config: ResolvedJwtConfig;
  /**
   * Keyed by the token's last 32 characters (its signature's tail: 192 bits that differ for
   * every token), the whole token compared on a hit. Hashing a whole 1 KiB token string that
   * was just sliced out of a header costs about 4 µs per lookup; 32 characters, well under 1.
   * Map order is insertion order: the first entry is the oldest and goes first when full.
   */
  private readonly cache = new Map<string, CachedToken>();
  private readonly keys: JwksSource;
  private readonly now: () => number;
  private readonly allowed: ReadonlySet<string>;

  constructor(config: JwtConfig, options: JwtVerifierOptions = {}) {
    this.config = resolveJwtConfig(config);
    this.now = options.now ?? Date.now;
    this.allowed = new Set(this.config.algorithms);
    this.keys = new JwksSource(this.config.keys, {
      now: this.now,
      ...(options.onJwksError !== undefined ? { onError: options.onJwksError } : {}),
    });
  }

  /** Fetches a remote JWKS now; true when a key set is held afterwards. Never rejects. */
  prefetch(): Promise<boolean> {
    return this.keys.prefetch();
  }

  /** Stops a JWKS fetch under way. */
  close(): void {
    this.keys.close();
  }

  /** Finds the token in `headers` and verifies it. Never rejects. */
  verify(headers: HeaderInput): Promise<JwtResult> {
    const found = this.locate(headers);
    if ('ok' in found) return Promise.resolve(found);
    return this.verifyToken(found.token, found.from);
  }

  /**
   * The result without waiting, when it needs no key: a token verified before (from the cache,
   * about 1 µs) or one refused on sight (missing, too large, malformed, a bad alg). Undefined
   * when the signature must be checked: then call verify(). For callers with a synchronous
   * fast path; verify() gives the same results.
   */
  verifySync(headers: HeaderInput): JwtResult | undefined {
    const found = this.locate(headers);
    if ('ok' in found) return found;
    const cached = this.lookupCache(found.token, found.from);
    if (cached !== undefined) return cached;
    const refused = this.precheck(found.token);
    return 'ok' in refused ? refused : undefined;
  }

  private locate(headers: HeaderInput): { token: string; from: string } | JwtResult {
    let found: { token: string; from: string } | undefined;
    for (const loc of this.config.fromHeaders) {
      for (const raw of headerValues(headers, loc.name)) {
        if (raw.length > this.config.maxTokenBytes + loc.valuePrefix.length + 64) {
          return unauthenticated(
            'TOKEN_TOO_LARGE',
            `the ${loc.name} header is ${raw.length} bytes; a token may be at most ${this.config.maxTokenBytes}`,
          );
        }
        const value = raw.trim();
        if (
          loc.valuePrefix !== '' &&
          value.slice(0, loc.valuePrefix.length).toLowerCase() !== loc.valuePrefix.toLowerCase()
        ) {
          continue;
        }
        const token = value.slice(loc.valuePrefix.length).trim();
        if (found !== undefined) {
          return unauthenticated(
            'TOKEN_MALFORMED',
            `more than one token (in ${found.from} and ${loc.name})`,
          );
        }
        found = { token, from: loc.name };
      }
    }
    if (found === undefined) {
      const where = this.config.fromHeaders
        .map((l) => (l.valuePrefix ? `${l.name}: ${l.valuePrefix.trim()} <token>` : l.name))
        .join(' or ');
      return unauthenticated('TOKEN_MISSING', `no token: expected ${where}`);
    }
    return found;
  }

  /** The checks that need no key: size, shape, alg. A failure, or the parts to verify. */
  private precheck(
    token: string,
  ): JwtResult | { parts: string[]; alg: string; kid: string | undefined } {
    const cfg = this.config;
    if (token.length > cfg.maxTokenBytes) {
      return unauthenticated(
        'TOKEN_TOO_LARGE',
        `the token is ${token.length} bytes; at most ${cfg.maxTokenBytes}`,
      );
    }
    if (token === '') return unauthenticated('TOKEN_MISSING', 'the token is empty');
    const parts = token.split('.');
    if (parts.length !== 3) {
      return unauthenticated('TOKEN_MALFORMED', `not a compact JWS: ${parts.length} parts, not 3`);
    }
    const header = decodePart(parts[0]);
    if (header === undefined) {
      return unauthenticated('TOKEN_MALFORMED', 'the token header is not base64url JSON');
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || !this.allowed.has(alg)) {
      return unauthenticated(
        'ALG_NOT_ALLOWED',
        `alg ${JSON.stringify(alg ?? null)} is not allowed (allowed: ${cfg.algorithms.join(', ')})`,
      );
    }
    if (decodePart(parts[1]) === undefined) {
      return unauthenticated('TOKEN_MALFORMED', 'the token payload is not base64url JSON');
    }
    if (!B64URL.test(parts[2])) {
      return unauthenticated('TOKEN_MALFORMED', 'the token signature is not base64url');
    }
    if (header.kid !== undefined && typeof header.kid !== 'string') {
      return unauthenticated('TOKEN_MALFORMED', 'the token kid is not a string');
    }
    return { parts, alg, kid: header.kid };
  }

  private lookupCache(token: string, from: string): JwtResult | undefined {
    const key = token.slice(-32);
    const cached = this.cache.get(key);
    if (cached === undefined || cached.token !== token) return undefined;
    if (this.now() >= cached.expiresAt || cached.generation !== this.keys.generation) {
      this.cache.delete(key);
      return undefined;
    }
    return from === cached.result.from ? cached.result : { ...cached.result, from };
  }

  /** Verifies a compact JWS token given directly. Never rejects. */
  async verifyToken(token: string, from = ''): Promise<JwtResult> {
    const cached = this.lookupCache(token, from);
    if (cached !== undefined) return cached;
    const checked = this.precheck(token);
    if ('ok' in checked) return checked;
    const { parts, alg, kid } = checked;
    const cfg = this.config;

    const lookup = await this.keys.lookup(kid, alg);
    if (!lookup.ok) return unauthenticated(lookup.reason, lookup.message);

    let claims: JWTPayload;
    try {
      const result = await jwtVerify(token, lookup.key, {
        algorithms: [alg],
        issuer: cfg.issuer,
        ...(cfg.audiences.length > 0 ? { audience: [...cfg.audiences] } : {}),
        clockTolerance: cfg.clockSkew / 1000,
        currentDate: new Date(this.now()),
        ...(cfg.requireExpiration ? { requiredClaims: ['exp'] } : {}),
      });
      claims = result.payload;
    } catch (err) {
      return this.joseFailure(err);
    }

    const denied = this.checkRequirements(claims);
    if (denied !== undefined) return denied;
    const result = {
      ok: true as const,
      claims,
      token,
      from,
      forwardHeaders:
        cfg.forwardPayloadHeader === undefined
          ? []
          : [[cfg.forwardPayloadHeader, parts[1]] as const],
    };
    this.remember(token, result);
    return result;
  }

  private remember(token: string, result: JwtResult & { ok: true }): void {
    if (this.config.tokenCacheSize === 0) return;
    // jose refuses a token once now - skew >= exp; the cache stops at the same instant.
    const expiresAt =
      typeof result.claims.exp === 'number'
        ? result.claims.exp * 1000 + this.config.clockSkew
        : Infinity;
    if (this.cache.size >= this.config.tokenCacheSize) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    const key = token.slice(-32);
    this.cache.delete(key);
    this.cache.set(key, { token, result, expiresAt, generation: this.keys.generation });
  }

  private joseFailure(err: unknown): JwtResult {
    if (err instanceof joseErrors.JWTExpired) {
      return unauthenticated('EXPIRED', 'the token has expired');
    }
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      switch (err.claim) {
        case 'iss':
          return unauthenticated('WRONG_ISSUER', `the token issuer is not ${this.config.issuer}`);
        case 'aud':
          return unauthenticated(
            'WRONG_AUDIENCE',
            `the token audience is not one of ${this.config.audiences.join(', ')}`,
          );
        case 'nbf':
          return unauthenticated('NOT_YET_VALID', 'the token is not valid yet (nbf)');
        case 'exp':
          return err.reason === 'missing'
            ? unauthenticated('EXPIRATION_MISSING', 'the token has no exp')
            : unauthenticated('TOKEN_MALFORMED', `the token exp is not a number`);
        default:
          return unauthenticated('TOKEN_MALFORMED', `claim ${err.claim}: ${err.message}`);
      }
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
      return unauthenticated('BAD_SIGNATURE', 'the token signature does not verify');
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed) {
      return unauthenticated('ALG_NOT_ALLOWED', err.message);
    }
    return unauthenticated('TOKEN_MALFORMED', err instanceof Error ? err.message : String(err));
  }

  private checkRequirements(claims: JWTPayload): JwtResult | undefined {
    for (const [name, wanted] of this.config.requiredClaims) {
      const value = claimAt(claims, name);
      if (value === undefined || value === null) {
        return failure('PERMISSION_DENIED', 'MISSING_CLAIM', `the token has no ${name} claim`);
      }
      const offered: unknown[] = Array.isArray(value) ? value : [value];
      if (!wanted.some((w: ClaimValue) => offered.includes(w))) {
        return failure(
          'PERMISSION_DENIED',
          'CLAIM_MISMATCH',
          `claim ${name} must be ${wanted.map((w) => JSON.stringify(w)).join(' or ')}`,
        );
      }
    }
    if (this.config.scopes.length > 0) {
      const granted = tokenScopes(claims);
      const missing = this.config.scopes.filter((s) => !granted.has(s));
      if (missing.length > 0) {
        return failure(
          'PERMISSION_DENIED',
          'INSUFFICIENT_SCOPE',
          `missing scope ${missing.join(' ')}`,
        );
      }
    }
    return undefined;
  }
}

/** Checks `config` (throws SecurityError SWY_ERR_JWT_CONFIG) and makes a verifier. */
export function createJwtVerifier(
  config: JwtConfig,
  options: JwtVerifierOptions = {},
): JwtVerifier {
  return new JwtVerifier(config, options);
}
