// Errors of the security primitives: bad JWT settings, a JWKS that cannot be fetched or read, an
// authorization policy that cannot be loaded. Each names the file, line:col and key path when
// there is one, so `switchyard validate` and a reload can point at the spot.
import { SwitchyardError } from '../common/errors.js';

export type SecurityErrorCode =
  /** JWT verifier settings that cannot be used (no issuer, no JWKS source, a bad number). */
  | 'SWY_ERR_JWT_CONFIG'
  /** A JWKS that could not be fetched in time, read, or parsed, or that has no usable key. */
  | 'SWY_ERR_JWKS'
  /** An authorization policy (gRFC A43 JSON) that cannot be read, parsed or used. */
  | 'SWY_ERR_AUTHZ_POLICY';

/** Where a problem is: 1-based line and column, 0 when it has no place in a file. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export class SecurityError extends SwitchyardError {
  override readonly name = 'SecurityError';
  declare readonly code: SecurityErrorCode;
  /** Set when the problem is in a file (a policy, a JWKS file). */
  readonly position: SourcePosition | undefined;
  /** Dotted key path in the document, e.g. `allow_rules[0].request.headers[1].key`; "" for the root. */
  readonly path: string;

  constructor(
    code: SecurityErrorCode,
    message: string,
    options: { position?: SourcePosition; path?: string; cause?: unknown } = {},
  ) {
    const where =
      options.position === undefined
        ? ''
        : options.position.line > 0
          ? `${options.position.file}:${options.position.line}:${options.position.column}: `
          : `${options.position.file}: `;
    const key = options.path ? `${options.path}: ` : '';
    super(code, `${where}${key}${message}`, { cause: options.cause });
    this.position = options.position;
    this.path = options.path ?? '';
  }
}
