// Typed proxy errors with stable codes; the message says what failed and where.

export type SwitchyardErrorCode =
  | 'ERR_CONNECT_REFUSED'
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_CONNECT_FAILED'
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_SESSION_CLOSED'
  | 'ERR_UPSTREAM_PROTOCOL'
  | 'ERR_KEEPALIVE_TIMEOUT'
  | 'ERR_LISTEN'
  | 'ERR_TLS_FILES'
  | 'ERR_UNKNOWN_CLUSTER'
  | 'ERR_CONFIG';

export class SwitchyardError extends Error {
  override readonly name = 'SwitchyardError';
  constructor(
    readonly code: SwitchyardErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A short reason for logs and grpc-message: the system error code when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
