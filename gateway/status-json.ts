// A gRPC status as REST clients see it: the HTTP status by the table grpc-gateway, Envoy and
// Connect share (cloud.google.com/apis/design/errors), and a google.rpc.Status JSON body with
// its details decoded through the descriptor pool.
import { fromBinary, toJson, type JsonObject, type Registry } from '@bufbuild/protobuf';

/** HTTP status by gRPC code 0–16. */
const HTTP_BY_CODE: readonly number[] = [
  200, // OK
  499, // CANCELLED (the client closed the request)
  500, // UNKNOWN
  400, // INVALID_ARGUMENT
  504, // DEADLINE_EXCEEDED
  404, // NOT_FOUND
  409, // ALREADY_EXISTS
  403, // PERMISSION_DENIED
  429, // RESOURCE_EXHAUSTED
  400, // FAILED_PRECONDITION (deliberately not 412, as every peer does)
  409, // ABORTED
  400, // OUT_OF_RANGE
  501, // UNIMPLEMENTED
  500, // INTERNAL
  503, // UNAVAILABLE
  500, // DATA_LOSS
  401, // UNAUTHENTICATED
];

export function httpStatusOf(code: number): number {
  return HTTP_BY_CODE[code] ?? 500;
}

/** gRPC code for a status the gateway makes from an HTTP status of its own (400, 404, …). */
export function codeOfHttpStatus(http: number): number {
  switch (http) {
    case 400:
    case 413:
      return 3; // INVALID_ARGUMENT
    case 404:
      return 5; // NOT_FOUND
    case 405:
      return 12; // UNIMPLEMENTED
    case 415:
      return 3;
    default:
      return 2; // UNKNOWN
  }
}

/**
 * The google.rpc.Status JSON: from `grpc-status-details-bin` when the upstream sent one (its
 * code and message win only if they agree with the trailers', which are authoritative), else
 * from code and message. Details whose type the pool lacks are kept as `@type` and base64
 * `value` rather than dropping the whole body.
 */
export function statusBody(
  code: number,
  message: string,
  detailsBin: string | undefined,
  registry: Registry,
): JsonObject {
  const body: JsonObject = { code, message, details: [] };
  const statusType = registry.getMessage('google.rpc.Status');
  if (detailsBin === undefined || statusType === undefined) return body;
  let status;
  try {
    status = fromBinary(statusType, Buffer.from(detailsBin, 'base64'));
  } catch {
    return body;
  }
  try {
    const json = toJson(statusType, status, { registry }) as JsonObject;
    body['details'] = json['details'] ?? [];
  } catch {
    const details = (status as unknown as { details: { typeUrl: string; value: Uint8Array }[] })
      .details;
    body['details'] = details.map((d) => ({
      '@type': d.typeUrl,
      value: Buffer.from(d.value).toString('base64'),
    }));
  }
  return body;
}

/** Decodes `grpc-message` (percent-encoded UTF-8). */
export function decodeGrpcMessage(value: string | undefined): string {
  if (value === undefined || !value.includes('%')) return value ?? '';
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
