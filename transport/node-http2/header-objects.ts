// HeaderFields to the header objects node:http2 sends: one property per name, a repeated name
// as an array of its values in order (node:http2 sends one field per element).
import type { OutgoingHttpHeaders } from 'node:http2';
import { SINGLE_VALUE } from '../../grpc/header-fields.js';
import type { HeaderFields } from '../header-fields.js';

const COLON = 0x3a;

/**
 * The object node:http2's `request()`, `respond()` and `sendTrailers()` take. Names node:http2
 * sends only once (it throws for an array) keep their first value, as Node itself keeps on
 * receipt. A null prototype, as Node's own header objects have: a field named `__proto__`
 * stays a field.
 */
export function fieldsToHeaders(fields: HeaderFields): OutgoingHttpHeaders {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (name.charCodeAt(0) === COLON || SINGLE_VALUE.has(name)) continue;
    else if (typeof prev === 'string') out[name] = [prev, value];
    else prev.push(value);
  }
  return out;
}
