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
  'ERR_CONNECT_REFUSED',
  'ERR_CONNECT_TIMEOUT',
  'ERR_CONNECT_FAILED',
  'ERR_HANDSHAKE_TIMEOUT',
  'ERR_SESSION_CLOSED',
  'ERR_UPSTREAM_PROTOCOL',
  'ERR_KEEPALIVE_TIMEOUT',
  // Starting and running the proxy (SwitchyardError).
  'ERR_LISTEN',
  'ERR_TLS_FILES',
  'ERR_UNKNOWN_CLUSTER',
  'ERR_CONFIG',
  // The config file (ConfigError).
  'ERR_CONFIG_READ',
  'ERR_CONFIG_TOO_LARGE',
  'ERR_CONFIG_INVALID',
  // Resolvers (ResolutionError, TargetError, ResolverOptionsError).
  'ERR_NOT_FOUND',
  'ERR_TRANSIENT',
  'ERR_BAD_ANSWER',
  'ERR_BAD_TARGET',
  'ERR_BAD_RESOLVER_OPTIONS',
  // Balancers (BalancerError).
  'ERR_UNKNOWN_POLICY',
  'ERR_BAD_POLICY_SETTINGS',
  'ERR_NO_HEALTH_CHECK_SETTINGS',
  // The command line (UsageError).
  'ERR_USAGE',
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
