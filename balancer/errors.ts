// Typed balancer errors. They are thrown only for configuration and programming mistakes;
// the per-call path reports "nothing ready" as a null pick, never by throwing.
import { SwitchyardError } from '../common/errors.js';

export type BalancerErrorCode =
  /** `createPolicy` got a name no policy is registered under. */
  | 'SWY_ERR_UNKNOWN_POLICY'
  /** A policy's settings failed validation; `issues` says where and why. */
  | 'SWY_ERR_BAD_POLICY_SETTINGS'
  /** Health checks were started without settings (the cluster has no `healthCheck`). */
  | 'SWY_ERR_NO_HEALTH_CHECK_SETTINGS';

/** One problem in a policy's settings. `path` is relative to the settings object. */
export interface PolicySettingsIssue {
  readonly path: readonly string[];
  readonly message: string;
}

export class BalancerError extends SwitchyardError {
  override readonly name = 'BalancerError';
  declare readonly code: BalancerErrorCode;
  constructor(
    code: BalancerErrorCode,
    message: string,
    readonly issues: readonly PolicySettingsIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
