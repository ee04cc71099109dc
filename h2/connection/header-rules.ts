// The HTTP/2 rules a received header list must follow (RFC 9113 §8.1.1, §8.2, §8.3): field
// names and values, pseudo-headers by message kind, connection-specific fields, content-length.
import type { HeaderList } from '../hpack/index.js';

/** What a header list is, which decides the pseudo-headers it needs. */
export const HeaderKind = {
  /** A request's headers, as a server receives them (§8.3.1). */
  REQUEST: 0,
  /** A response's headers, as a client receives them (§8.3.2), 1xx included. */
  RESPONSE: 1,
  /** Trailers: no pseudo-headers at all (§8.1). */
  TRAILERS: 2,
} as const;
export type HeaderKind = (typeof HeaderKind)[keyof typeof HeaderKind];

/** What checkHeaderList learned besides validity; one reused per connection. */
export interface HeaderFacts {
  /** The content-length value, -1 when there is none. */
  contentLength: number;
  /** The response's :status as a number (responses only; 0 otherwise). */
  status: number;
  /** Whether the request's :method was HEAD (then a response has no body, §8.1.1). */
  head: boolean;
}

/** Pseudo-header bits for duplicate and required-set checks. */
const METHOD = 1;
const SCHEME = 2;
const AUTHORITY = 4;
const PATH = 8;
const STATUS = 16;

/**
 * Checks `list` as a message of `kind`; fills `facts`. Returns null when the list is well
 * formed, otherwise why not: the stream is malformed, a stream error of type PROTOCOL_ERROR
 * (§8.1.1). Allocates nothing on success.
 */
export function checkHeaderList(
  list: HeaderList,
  kind: HeaderKind,
  facts: HeaderFacts,
): string | null {
  facts.contentLength = -1;
  facts.status = 0;
  facts.head = false;
  const fields = list.fields;
  const n = list.length;
  // The decoder checked the characters of what it read; other lists are checked here.
  const checkCharacters = !list.charactersChecked;
  let seen = 0;
  let regular = false;
  let isConnect = false;
  for (let i = 0; i < n; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    if (name.length === 0) return 'an empty field name';
    if (name.charCodeAt(0) === 0x3a) {
      // A pseudo-header (§8.3): before every regular field, once each, of the message's kind.
      if (regular) return `pseudo-header ${name} after a regular field`;
      let bit: number;
      switch (name) {
        case ':method':
          bit = METHOD;
          break;
        case ':scheme':
          bit = SCHEME;
          break;
        case ':authority':
          bit = AUTHORITY;
          break;
        case ':path':
          bit = PATH;
          break;
        case ':status':
          bit = STATUS;
          break;
        default:
          return `unknown pseudo-header ${name}`;
      }
      if (kind === HeaderKind.TRAILERS) return `pseudo-header ${name} in trailers`;
      if ((kind === HeaderKind.REQUEST) === (bit === STATUS)) {
        return `pseudo-header ${name} in a ${kind === HeaderKind.REQUEST ? 'request' : 'response'}`;
      }
      if ((seen & bit) !== 0) return `pseudo-header ${name} repeated`;
      seen |= bit;
      if (bit === METHOD) {
        isConnect = value === 'CONNECT';
        facts.head = value === 'HEAD';
      } else if (bit === STATUS) {
        if (value.length !== 3 || !isDigits(value)) return `:status ${value} is not 3 digits`;
        facts.status = +value;
      } else if (bit === PATH && value.length === 0) {
        return 'an empty :path';
      }
      if (checkCharacters && !validValue(value)) {
        return `invalid characters in the value of ${name}`;
      }
      continue;
    }
    regular = true;
    const special = SPECIAL_LENGTHS[name.length] === 1;
    if (checkCharacters) {
      if (!validName(name)) {
        return `field name ${JSON.stringify(name)} is not lower-case token characters`;
      }
      if (!validValue(value)) return `invalid characters in the value of ${name}`;
    }
    if (!special) continue;
    switch (name) {
      case 'connection':
      case 'proxy-connection':
      case 'keep-alive':
      case 'transfer-encoding':
      case 'upgrade':
        return `connection-specific field ${name}`;
      case 'te':
        if (value !== 'trailers') return `te: ${value}, only "trailers" is allowed`;
        break;
      case 'content-length': {
        if (value.length === 0 || value.length > 15 || !isDigits(value)) {
          return `content-length ${value} is not a number`;
        }
        const length = +value;
        if (facts.contentLength !== -1 && facts.contentLength !== length) {
          return 'content-length fields disagree';
        }
        facts.contentLength = length;
        break;
      }
    }
  }
  if (kind === HeaderKind.REQUEST) {
    if ((seen & METHOD) === 0) return 'a request without :method';
    if (isConnect) {
      // CONNECT (§8.5): :authority only.
      if ((seen & (SCHEME | PATH)) !== 0) return 'CONNECT with :scheme or :path';
      if ((seen & AUTHORITY) === 0) return 'CONNECT without :authority';
    } else if ((seen & (SCHEME | PATH)) !== (SCHEME | PATH)) {
      return 'a request without :scheme or :path';
    }
  } else if (kind === HeaderKind.RESPONSE && (seen & STATUS) === 0) {
    return 'a response without :status';
  }
  return null;
}

/**
 * Lengths of the names the switch below looks at (te 2, upgrade 7, connection and keep-alive
 * 10, content-length 14, proxy-connection 16, transfer-encoding 17): other names skip seven
 * string comparisons, a tenth of the check's cost in a profile of unary calls.
 */
const SPECIAL_LENGTHS = new Uint8Array(18);
for (const n of [2, 7, 10, 14, 16, 17]) SPECIAL_LENGTHS[n] = 1;

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** §8.2.1: no octets 0x00–0x20, upper-case letters 0x41–0x5a or 0x7f–0xff in a name. */
function validName(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x41 && c <= 0x5a) || c >= 0x7f) return false;
  }
  return true;
}

/** §8.2.1: no NUL, CR or LF, and no leading or trailing space or tab in a value. */
function validValue(s: string): boolean {
  const n = s.length;
  if (n === 0) return true;
  let c = s.charCodeAt(0);
  if (c === 0x20 || c === 0x09) return false;
  c = s.charCodeAt(n - 1);
  if (c === 0x20 || c === 0x09) return false;
  for (let i = 0; i < n; i++) {
    c = s.charCodeAt(i);
    if (c === 0x00 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}
