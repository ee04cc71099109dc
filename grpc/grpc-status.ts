// gRPC status codes and the one place where transport failures become gRPC statuses.
import { ErrorCode } from '../h2/frames/constants.js';

export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type StatusCode = (typeof Status)[keyof typeof Status];

const NAMES: readonly string[] = Object.keys(Status);

export function statusName(code: number): string {
  return NAMES[code] ?? `STATUS_${code}`;
}

/**
 * The status a client sees when the upstream resets a stream, per gRPC's HTTP/2 mapping
 * (doc/PROTOCOL-HTTP2.md, "Errors").
 */
export function statusFromRstCode(rstCode: number): StatusCode {
  switch (rstCode) {
    case ErrorCode.REFUSED_STREAM:
      // Not processed by the server: safe to retry, and UNAVAILABLE if we cannot.
      return Status.UNAVAILABLE;
    case ErrorCode.CANCEL:
      return Status.CANCELLED;
    case ErrorCode.ENHANCE_YOUR_CALM:
      return Status.RESOURCE_EXHAUSTED;
    case ErrorCode.INADEQUATE_SECURITY:
      return Status.PERMISSION_DENIED;
    default:
      return Status.INTERNAL;
  }
}

const RST_NAMES: Record<number, string> = {
  [ErrorCode.NO_ERROR]: 'NO_ERROR',
  [ErrorCode.PROTOCOL_ERROR]: 'PROTOCOL_ERROR',
  [ErrorCode.INTERNAL_ERROR]: 'INTERNAL_ERROR',
  [ErrorCode.FLOW_CONTROL_ERROR]: 'FLOW_CONTROL_ERROR',
  [ErrorCode.SETTINGS_TIMEOUT]: 'SETTINGS_TIMEOUT',
  [ErrorCode.STREAM_CLOSED]: 'STREAM_CLOSED',
  [ErrorCode.FRAME_SIZE_ERROR]: 'FRAME_SIZE_ERROR',
  [ErrorCode.REFUSED_STREAM]: 'REFUSED_STREAM',
  [ErrorCode.CANCEL]: 'CANCEL',
  [ErrorCode.COMPRESSION_ERROR]: 'COMPRESSION_ERROR',
  [ErrorCode.CONNECT_ERROR]: 'CONNECT_ERROR',
  [ErrorCode.ENHANCE_YOUR_CALM]: 'ENHANCE_YOUR_CALM',
  [ErrorCode.INADEQUATE_SECURITY]: 'INADEQUATE_SECURITY',
  [ErrorCode.HTTP_1_1_REQUIRED]: 'HTTP_1_1_REQUIRED',
};

export function rstCodeName(code: number): string {
  return RST_NAMES[code] ?? `code ${code}`;
}

/** gRPC's mapping for a non-200 HTTP status from a server that sent no grpc-status. */
export function statusFromHttpStatus(httpStatus: number): StatusCode {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

/**
 * Percent-encodes a status message for the `grpc-message` header: bytes outside printable
 * ASCII, and `%` itself, as the gRPC spec requires (non-ASCII text arrives intact as UTF-8).
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? '%' + byte.toString(16).toUpperCase().padStart(2, '0')
        : String.fromCharCode(byte);
  }
  return out;
}

/** Whether a final status points at the endpoint rather than at the application. */
export function isEndpointFailure(code: number): boolean {
  return code === Status.UNAVAILABLE;
}
