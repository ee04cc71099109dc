// JWT verifier settings: what a caller passes (durations in milliseconds; the YAML layer turns
// "5s" into 5000), checked once, with defaults filled in. Every problem is a SecurityError
// SWY_ERR_JWT_CONFIG naming the key.
import { readFileSync } from 'node:fs';
import { SecurityError } from '../errors.js';
import { ASYMMETRIC_ALGORITHMS, isAsymmetricAlgorithm } from './jwk-algorithms.js';
import { parseKeySet, type KeySet, type RemoteJwksSettings } from './jwks-source.js';

export type ClaimValue = string | number | boolean;

/** Where a token is read from: a header and the text before the token (`Bearer `). */
export interface TokenLocation {
  /** Lower-case header (metadata) name. */
  readonly name: string;
  /** Compared without regard to case (RFC 7235 auth schemes); "" for a bare token. */
  readonly valuePrefix?: string;
}

export interface JwtConfig {
  /** The `iss` every token must carry. */
  readonly issuer: string;
  /** Any one of these must be in `aud`; absent or empty: `aud` is not checked (as Envoy). */
  readonly audiences?: readonly string[];
  /** Exactly one of uri, discovery, file, inline. */
  readonly jwks: {
    /** An http: or https: URL serving `{"keys": [...]}`. */
    readonly uri?: string;
    /**
     * OpenID Connect discovery: `true` reads `jwks_uri` from the issuer's
     * `/.well-known/openid-configuration`; a URL names another discovery document. Either way
     * the document's `issuer` must be the configured issuer exactly (OIDC Discovery 1.0 §4.3).
     */
    readonly discovery?: boolean | string;
    /** A JWKS file, read once when the verifier is made. */
    readonly file?: string;
    /** A JWKS document: the object, or its JSON text. */
    readonly inline?: object | string;
    /** Milliseconds a fetched set is fresh; default 600000 (10 min, Envoy's default). */
    readonly cacheDuration?: number;
    /** Milliseconds a fetch may take, body included; default 5000 (jose's default). */
    readonly timeout?: number;
    /** Milliseconds between refetches caused by an unknown kid; default 30000 (jose's cooldown). */
    readonly refreshCooldown?: number;
    /** Milliseconds a failed fetch is not repeated; default 1000 (Envoy's failed_refetch_duration). */
    readonly failedRefetch?: number;
  };
  /** Where to look, in order; default `[{ name: 'authorization', valuePrefix: 'Bearer ' }]`. */
  readonly fromHeaders?: readonly TokenLocation[];
  /** A header to carry the verified payload upstream (base64url JSON, as Envoy's). */
  readonly forwardPayloadHeader?: string;
  /** Milliseconds of clock difference allowed on exp and nbf; default 60000 (Envoy's 60 s). */
  readonly clockSkew?: number;
  /** Accepted algorithms, a subset of the asymmetric ones; default all of them. */
  readonly algorithms?: readonly string[];
  /** Tokens without `exp` are refused unless this is false; default true. */
  readonly requireExpiration?: boolean;
  /**
   * Claims a token must have (dots reach into objects): a value must equal the claim, or be an
   * element of it when the claim is a list; a list of values means any one of them. Failing
   * this is PERMISSION_DENIED: the caller is who it says, but may not call.
   */
  readonly requiredClaims?: Readonly<Record<string, ClaimValue | readonly ClaimValue[]>>;
  /** Scopes a token must all have, from `scope` (space-delimited) or `scp` (list or string). */
  readonly scopes?: readonly string[];
  /** Longest token accepted, in bytes, checked before any decoding; default 16384. */
  readonly maxTokenBytes?: number;
  /** Verified tokens remembered until they expire, so a repeated token skips the crypto; 0: none. Default 1000. */
  readonly tokenCacheSize?: number;
}

export interface ResolvedJwtConfig {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly keys: KeySet | RemoteJwksSettings;
  readonly fromHeaders: readonly Required<TokenLocation>[];
  readonly forwardPayloadHeader: string | undefined;
  readonly clockSkew: number;
  readonly algorithms: readonly string[];
  readonly requireExpiration: boolean;
  readonly requiredClaims: readonly (readonly [string, readonly ClaimValue[]])[];
  readonly scopes: readonly string[];
  readonly maxTokenBytes: number;
  readonly tokenCacheSize: number;
}

export const JWT_DEFAULTS = {
  cacheDuration: 600_000,
  timeout: 5_000,
  refreshCooldown: 30_000,
  failedRefetch: 1_000,
  clockSkew: 60_000,
  // 16 KiB: a large OIDC token with groups is 2-4 KiB; the cap keeps a 1 MiB header from being
  // base64-decoded and JSON-parsed at all.
  maxTokenBytes: 16_384,
  // Envoy keeps 100; 1000 tokens of 1-4 KiB is 1-4 MiB, and covers a busy listener's callers.
  tokenCacheSize: 1000,
} as const;

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

function fail(key: string, message: string, cause?: unknown): never {
  throw new SecurityError('SWY_ERR_JWT_CONFIG', message, { path: key, cause });
}

function duration(value: unknown, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(key, `must be a number of milliseconds ≥ 0, not ${JSON.stringify(value)}`);
  }
  return value;
}

function httpUrl(value: unknown, key: string): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch (err) {
    fail(key, `is not a URL: ${JSON.stringify(value)}`, err);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    fail(key, `must be an http: or https: URL, not ${url.protocol}`);
  }
  return url.href;
}

/**
 * Where OpenID Connect Discovery 1.0 (§4) puts an issuer's configuration: the issuer with any
 * trailing `/` removed, then `/.well-known/openid-configuration`.
 */
function discoveryUrl(issuer: string): string {
  const base = httpUrl(issuer, 'issuer');
  if (base.includes('?') || base.includes('#')) {
    fail('issuer', 'has a query or fragment: it cannot be the base of a discovery URL');
  }
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

function nonEmptyStrings(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    fail(key, 'must be a list of non-empty strings');
  }
  return value as string[];
}

/** Checks `config` and fills in defaults; reads a JWKS file. Throws SWY_ERR_JWT_CONFIG. */
export function resolveJwtConfig(config: JwtConfig): ResolvedJwtConfig {
  if (typeof config.issuer !== 'string' || config.issuer === '') {
    fail('issuer', 'is required: the iss value tokens must carry');
  }
  const audiences =
    config.audiences === undefined ? [] : nonEmptyStrings(config.audiences, 'audiences');
  const jwks = config.jwks as JwtConfig['jwks'] | undefined;
  if (typeof jwks !== 'object' || jwks === null)
    fail('jwks', 'is required: { uri | discovery | file | inline }');
  const given = (['uri', 'discovery', 'file', 'inline'] as const).filter(
    (k) => jwks[k] !== undefined && jwks[k] !== false,
  );
  if (given.length !== 1) {
    fail(
      'jwks',
      `needs exactly one of uri, discovery, file, inline${given.length > 1 ? ` (has ${given.join(', ')})` : ''}`,
    );
  }
  const which = given[0];
  let keys: KeySet | RemoteJwksSettings;
  if (which === 'uri' || which === 'discovery') {
    let uri: string | undefined;
    let discovery: string | undefined;
    if (which === 'uri') uri = httpUrl(jwks.uri, 'jwks.uri');
    else if (jwks.discovery === true) discovery = discoveryUrl(config.issuer);
    else if (typeof jwks.discovery === 'string') {
      discovery = httpUrl(jwks.discovery, 'jwks.discovery');
    } else fail('jwks.discovery', 'must be true or the URL of a discovery document');
    keys = {
      uri,
      discovery: discovery === undefined ? undefined : { uri: discovery, issuer: config.issuer },
      cacheDuration: duration(jwks.cacheDuration, 'jwks.cacheDuration', JWT_DEFAULTS.cacheDuration),
      timeout: duration(jwks.timeout, 'jwks.timeout', JWT_DEFAULTS.timeout),
      refreshCooldown: duration(
        jwks.refreshCooldown,
        'jwks.refreshCooldown',
        JWT_DEFAULTS.refreshCooldown,
      ),
      failedRefetch: duration(jwks.failedRefetch, 'jwks.failedRefetch', JWT_DEFAULTS.failedRefetch),
    };
    if (keys.timeout === 0) fail('jwks.timeout', 'must be more than 0');
  } else if (which === 'file') {
    const file = String(jwks.file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      fail('jwks.file', `cannot read ${file}: ${(err as Error).message}`, err);
    }
    try {
      keys = parseKeySet(text, file);
    } catch (err) {
      fail('jwks.file', (err as Error).message, err);
    }
  } else {
    const text = typeof jwks.inline === 'string' ? jwks.inline : JSON.stringify(jwks.inline);
    try {
      keys = parseKeySet(text, 'jwks.inline');
    } catch (err) {
      fail('jwks.inline', (err as Error).message, err);
    }
  }

  const fromHeaders = (
    config.fromHeaders ?? [{ name: 'authorization', valuePrefix: 'Bearer ' }]
  ).map((loc, i) => {
    const name = typeof loc?.name === 'string' ? loc.name.toLowerCase() : '';
    if (!HEADER_NAME.test(name)) fail(`fromHeaders[${i}].name`, 'must be a header name');
    const prefix = loc.valuePrefix ?? '';
    if (typeof prefix !== 'string') fail(`fromHeaders[${i}].valuePrefix`, 'must be a string');
    return { name, valuePrefix: prefix };
  });
  if (fromHeaders.length === 0) fail('fromHeaders', 'must name at least one header');

  let forwardPayloadHeader: string | undefined;
  if (config.forwardPayloadHeader !== undefined) {
    forwardPayloadHeader = String(config.forwardPayloadHeader).toLowerCase();
    if (!HEADER_NAME.test(forwardPayloadHeader) || forwardPayloadHeader.startsWith('grpc-')) {
      fail('forwardPayloadHeader', 'must be a header name not starting with grpc-');
    }
  }

  const algorithms =
    config.algorithms === undefined
      ? [...ASYMMETRIC_ALGORITHMS]
      : nonEmptyStrings(config.algorithms, 'algorithms');
  for (const [i, alg] of algorithms.entries()) {
    if (!isAsymmetricAlgorithm(alg)) {
      fail(
        `algorithms[${i}]`,
        `${alg} is not allowed: only asymmetric algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')}); never none or HS*`,
      );
    }
  }
  if (algorithms.length === 0) fail('algorithms', 'must name at least one algorithm');

  const requiredClaims: [string, ClaimValue[]][] = [];
  for (const [claim, value] of Object.entries(config.requiredClaims ?? {})) {
    const values = Array.isArray(value) ? [...(value as ClaimValue[])] : [value as ClaimValue];
    if (
      values.length === 0 ||
      values.some((v) => !['string', 'number', 'boolean'].includes(typeof v))
    ) {
      fail(
        `requiredClaims.${claim}`,
        'must be a string, number or boolean, or a non-empty list of them',
      );
    }
    requiredClaims.push([claim, values]);
  }

  const maxTokenBytes = duration(config.maxTokenBytes, 'maxTokenBytes', JWT_DEFAULTS.maxTokenBytes);
  if (maxTokenBytes < 16) fail('maxTokenBytes', 'must be at least 16');

  return {
    issuer: config.issuer,
    audiences,
    keys,
    fromHeaders,
    forwardPayloadHeader,
    clockSkew: duration(config.clockSkew, 'clockSkew', JWT_DEFAULTS.clockSkew),
    algorithms,
    requireExpiration: config.requireExpiration !== false,
    requiredClaims,
    scopes: config.scopes === undefined ? [] : nonEmptyStrings(config.scopes, 'scopes'),
    maxTokenBytes,
    tokenCacheSize: Math.floor(
      duration(config.tokenCacheSize, 'tokenCacheSize', JWT_DEFAULTS.tokenCacheSize),
    ),
  };
}
