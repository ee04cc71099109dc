// The error catalogue: one base class with stable codes, a brand that survives realms, and
// the underlying error kept as `cause`. README "Errors" says what each code means and what to do.

/**
 * Every code a SwitchyardError or one of its subclasses may carry. The subclasses (ConfigError,
 * ResolutionError, BalancerError, …) narrow `code` to their own part of this list, so a code
 * that is not here does not compile. The h2/ codecs import nothing of the project and keep
 * their own errors (H2FrameError, HpackError) with codes in the same style.
 */
export const SWITCHYARD_ERROR_CODES = [
  // Upstream connections (SwitchyardError).
  'SWY_ERR_CONNECT_REFUSED',
  'SWY_ERR_CONNECT_TIMEOUT',
  'SWY_ERR_CONNECT_FAILED',
  'SWY_ERR_UPSTREAM_PROTOCOL',
  'SWY_ERR_KEEPALIVE_TIMEOUT',
  'SWY_ERR_HEADERS_TOO_LARGE',
  // Starting and running the proxy (SwitchyardError).
  'SWY_ERR_LISTEN',
  'SWY_ERR_TLS_FILES',
  'SWY_ERR_CONFIG',
  'SWY_ERR_CLOSED',
  // The config file (ConfigError).
  'SWY_ERR_CONFIG_READ',
  'SWY_ERR_CONFIG_TOO_LARGE',
  'SWY_ERR_CONFIG_INVALID',
  // Resolvers (ResolutionError, TargetError, ResolverOptionsError).
  'SWY_ERR_RESOLVE_NOT_FOUND',
  'SWY_ERR_RESOLVE_TRANSIENT',
  'SWY_ERR_RESOLVE_BAD_ANSWER',
  'SWY_ERR_BAD_TARGET',
  'SWY_ERR_BAD_RESOLVER_OPTIONS',
  // Balancers (BalancerError).
  'SWY_ERR_UNKNOWN_POLICY',
  'SWY_ERR_BAD_POLICY_SETTINGS',
  'SWY_ERR_NO_HEALTH_CHECK_SETTINGS',
  // The command line (UsageError).
  'SWY_ERR_USAGE',
  // The REST/JSON gateway: descriptors and HTTP rules (ProtoLoadError, HttpRuleError).
  'SWY_ERR_PROTO_LOAD',
  'SWY_ERR_HTTP_RULE',
  'SWY_ERR_REFLECTION',
  // Filters: a module that does not load, options it refuses (FilterConfigError).
  'SWY_ERR_FILTER_CONFIG',
  // Security primitives: JWT settings, JWKS documents, authorization policies (SecurityError).
  'SWY_ERR_JWT_CONFIG',
  'SWY_ERR_JWKS',
  'SWY_ERR_AUTHZ_POLICY',
] as const;

export type SwitchyardErrorCode = (typeof SWITCHYARD_ERROR_CODES)[number];

/**
 * The brand: a registered symbol is the same in every realm (a `vm` context, a second copy of
 * the package in node_modules), where `instanceof` fails because each has its own class.
 */
const BRAND = Symbol.for('switchyard.error');

export class SwitchyardError extends Error {
  override readonly name: string = 'SwitchyardError';
  constructor(
    readonly code: SwitchyardErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /**
   * True for an error made by any copy of switchyard, in any realm: checks the brand, not the
   * prototype chain (which `instanceof` does, and which differs between copies).
   */
  static is(value: unknown): value is SwitchyardError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[BRAND] === true
    );
  }
}

// On the prototype, not each instance: no own property to copy, and subclasses inherit it.
Object.defineProperty(SwitchyardError.prototype, BRAND, { value: true });

/** A short reason for logs and grpc-message: the system error code when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
