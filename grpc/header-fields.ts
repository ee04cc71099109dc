// Header fields as the proxy passes them on: a repeated name stays separate fields, in order,
// and nothing goes out that a strict peer answers by dropping its whole connection.

/**
 * Names node:http2 sends only once (it throws for an array) and of which it keeps the first
 * on receipt: its kSingleValueHeaders (lib/internal/http2/util.js, the same in Node 20, 22
 * and 24), without the pseudo-headers, plus `te`, which it accepts only as "trailers".
 */
export const SINGLE_VALUE: ReadonlySet<string> = new Set([
  'access-control-allow-credentials',
  'access-control-max-age',
  'access-control-request-method',
  'age',
  'authorization',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'dnt',
  'etag',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'te',
  'tk',
  'upgrade-insecure-requests',
  'user-agent',
  'x-content-type-options',
]);

const COLON = 0x3a;
const LOWER_N = 0x6e;
const EQUALS = 0x3d;
/** Per field, on top of name and value (RFC 9113 §6.5.2, SETTINGS_MAX_HEADER_LIST_SIZE). */
const FIELD_OVERHEAD = 32;

/** The standard base64 alphabet (RFC 4648 §4), which gRPC's `-bin` values use. */
const BASE64 = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') {
  BASE64[c.charCodeAt(0)] = 1;
}

/** Returned by prepareHeaderFields for a block that must not be sent on. */
export const INVALID_FIELDS = -1;

/**
 * Readies a header block that Node received for sending on with node:http2. Node's parsed
 * object joins a repeated name into one field ("a, b"): a `-bin` value joined that way is not
 * base64, and gRPC C-core answers it by failing the whole connection with every call on it.
 * So a name that repeats becomes an array of its values, in order (node:http2 sends one field
 * per element). Only then is anything allocated: a block without repeats is only read.
 *
 * `raw` is the block as it came: [name, value, name, value, …] (the fourth argument of the
 * server's 'stream' event, the third of a client stream's 'response' and 'trailers').
 * Returns the block's size as HTTP/2 counts it against a peer's SETTINGS_MAX_HEADER_LIST_SIZE,
 * or INVALID_FIELDS when a `-bin` value is not base64 (invalidFieldReason says which).
 */
export function prepareHeaderFields(
  parsed: Record<string, unknown>,
  raw: readonly string[],
): number {
  const n = raw.length;
  let size = 0;
  let repeated = false;
  for (let i = 0; i < n; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    size += name.length + value.length + FIELD_OVERHEAD;
    if (name.charCodeAt(name.length - 1) === LOWER_N && name.endsWith('-bin') && !isBase64(value)) {
      return INVALID_FIELDS;
    }
    // Comparing names costs less than looking each up in the parsed object (a property
    // lookup hashes a name Node made for this stream); nghttp2 caps a block at 128 fields.
    if (!repeated) {
      for (let j = i + 2; j < n; j += 2) {
        if (raw[j] === name) {
          repeated = true;
          break;
        }
      }
    }
  }
  if (repeated) splitRepeated(parsed, raw);
  return size;
}

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

/** Why prepareHeaderFields refused `raw`, for the status message. */
export function invalidFieldReason(raw: readonly string[]): string {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].endsWith('-bin') && !isBase64(raw[i + 1])) {
      return `metadata "${raw[i]}" is not base64`;
    }
  }
  return 'invalid header fields';
}

function splitRepeated(parsed: Record<string, unknown>, raw: readonly string[]): void {
  const values = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.charCodeAt(0) === COLON) continue;
    const list = values.get(name);
    if (list === undefined) values.set(name, [raw[i + 1]]);
    else list.push(raw[i + 1]);
  }
  for (const [name, list] of values) {
    if (list.length > 1) parsed[name] = SINGLE_VALUE.has(name) ? list[0] : list;
  }
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
