// Typed resolver errors: what failed, for which target, and whether the last good set stays.
import { SwitchyardError } from '../common/errors.js';

export type ResolutionErrorCode =
  /** The name does not exist or has no endpoints (NXDOMAIN, empty answer, unknown service). */
  | 'SWY_ERR_RESOLVE_NOT_FOUND'
  /** A failure that may pass (timeout, SERVFAIL, refused, unreachable server or agent). */
  | 'SWY_ERR_RESOLVE_TRANSIENT'
  /** The answer could not be understood (malformed JSON, bad records). */
  | 'SWY_ERR_RESOLVE_BAD_ANSWER';

export class ResolutionError extends SwitchyardError {
  override readonly name = 'ResolutionError';
  declare readonly code: ResolutionErrorCode;
  constructor(
    code: ResolutionErrorCode,
    /** The target as the user wrote it. */
    readonly target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${target}: ${message}`, options);
  }
}

/** A target string that cannot be parsed (defined with the target syntax, in common/). */
export { TargetError } from '../common/target.js';

/** A programmatic resolver option (or the Consul environment) that cannot be used. */
export class ResolverOptionsError extends SwitchyardError {
  override readonly name = 'ResolverOptionsError';
  declare readonly code: 'SWY_ERR_BAD_RESOLVER_OPTIONS';
  constructor(
    /** The target the options were for. */
    readonly target: string,
    /** Every problem, with its key path inside the option group (`dns.minRefreshMs`). */
    readonly problems: readonly { readonly path: string; readonly message: string }[],
  ) {
    super(
      'SWY_ERR_BAD_RESOLVER_OPTIONS',
      `invalid resolver options for "${target}": ` +
        problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; '),
    );
  }
}
