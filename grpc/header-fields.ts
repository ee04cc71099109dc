// Header fields as the proxy passes them on: a repeated name stays separate fields, in order,
// and nothing goes out that a strict peer answers by dropping its whole connection.

const LOWER_N = 0x6e;
const EQUALS = 0x3d;
/** Per field, on top of name and value (RFC 9113 §6.5.2, SETTINGS_MAX_HEADER_LIST_SIZE). */
const FIELD_OVERHEAD = 32;

/** The standard base64 alphabet (RFC 4648 §4), which gRPC's `-bin` values use. */
const BASE64 = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') {
  BASE64[c.charCodeAt(0)] = 1;
}

/** Returned by headerFieldsSize for a block that must not be sent on. */
export const INVALID_FIELDS = -1;

/**
 * The size of a header block as HTTP/2 counts it against a peer's SETTINGS_MAX_HEADER_LIST_SIZE,
 * or INVALID_FIELDS when a `-bin` value is not base64 (a block that must not be sent on).
 * `fields` is [name, value, name, value, …]; only read.
 */
export function headerFieldsSize(fields: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    size += name.length + value.length + FIELD_OVERHEAD;
    if (name.charCodeAt(name.length - 1) === LOWER_N && name.endsWith('-bin') && !isBase64(value)) {
      return INVALID_FIELDS;
    }
  }
  return size;
}

/** Why headerFieldsSize refused `raw`, for the status message. */
export function invalidFieldReason(raw: readonly string[]): string {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].endsWith('-bin') && !isBase64(raw[i + 1])) {
      return `metadata "${raw[i]}" is not base64`;
    }
  }
  return 'invalid header fields';
}

/**
 * Whether `value` is base64 as gRPC C-core reads it: the standard alphabet, padded or not
 * (gRPC's PROTOCOL-HTTP2.md: implementations must accept both), never a lone sixth bit group.
 */
export function isBase64(value: string): boolean {
  let n = value.length;
  let padding = 0;
  while (padding < 2 && n > 0 && value.charCodeAt(n - 1) === EQUALS) {
    n--;
    padding++;
  }
  const rest = n % 4;
  if (rest === 1 || (padding > 0 && padding > (4 - rest) % 4)) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || BASE64[c] === 0) return false;
  }
  return true;
}

/**
 * Whether a content-type is gRPC's: application/grpc, application/grpc+proto,
 * application/grpc;charset=…, but not application/grpc-web.
 */
export function isGrpcContentType(ct: string | undefined): boolean {
  if (ct === undefined || !ct.startsWith('application/grpc')) return false;
  return ct.length === 16 || ct.charCodeAt(16) === 43 /* + */ || ct.charCodeAt(16) === 59; /* ; */
}
