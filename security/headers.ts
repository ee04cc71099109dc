// Request metadata as the security primitives read it, from whatever the caller holds: the
// proxy's flat [name, value, …] block, a plain object (node:http's IncomingHttpHeaders, a test's
// literal), or a function (over grpc-js Metadata: `(n) => md.get(n).map(String)`).

/**
 * One of:
 * - a flat `[name, value, name, value, …]` list with lower-case names (transport/header-fields);
 * - an object from lower-case name to a value or a list of values;
 * - a function giving every value of a lower-case name, in order ([] when it has none).
 */
export type HeaderInput =
  | readonly string[]
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | ((name: string) => readonly string[]);

const NONE: readonly string[] = [];

/** Every value of `name` (lower-case) in `headers`, in order. */
export function headerValues(headers: HeaderInput, name: string): readonly string[] {
  if (typeof headers === 'function') return headers(name);
  if (Array.isArray(headers)) {
    const flat = headers as readonly string[];
    let out: string[] | undefined;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (flat[i] === name) (out ??= []).push(flat[i + 1]);
    }
    return out ?? NONE;
  }
  const value = (headers as Readonly<Record<string, string | readonly string[] | undefined>>)[name];
  if (value === undefined) return NONE;
  return typeof value === 'string' ? [value] : value;
}
