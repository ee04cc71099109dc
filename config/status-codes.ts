// gRPC status codes by name, as A6 policies write them (`UNAVAILABLE`, `unavailable` or 14).
// config/ may not import grpc/, so the seventeen names live here too; a test checks that the
// two tables agree.

/** The canonical names, indexed by code (0 OK … 16 UNAUTHENTICATED). */
export const STATUS_CODE_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The code of a status name (any case) or of a code in range; undefined for anything else. */
export function statusCodeOf(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 && value < STATUS_CODE_NAMES.length
      ? value
      : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const code = STATUS_CODE_NAMES.indexOf(value.toUpperCase());
  return code < 0 ? undefined : code;
}
