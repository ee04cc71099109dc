// A header block as the data path carries it: a flat [name, value, name, value, …] list, so a
// repeated name stays separate fields, in order (joining them breaks `-bin` metadata for strict
// peers such as gRPC C-core), and a block needs no object per call.

/**
 * `[name, value, name, value, …]`, names lower-case, pseudo-headers first. node:http2's raw
 * header arrays have this shape, so an incoming block is used as it came.
 */
export type HeaderFields = string[];

const COLON = 0x3a;

/** The first value of `name`, or undefined when the block has none. */
export function fieldValue(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * Makes `value` the only value of `name`: the first field keeps its place, later ones go. A new
 * pseudo-header goes in front (RFC 9113 §8.3: pseudo-headers precede regular fields), any
 * other new name at the end.
 */
export function setField(fields: HeaderFields, name: string, value: string): void {
  let found = -1;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] !== name) continue;
    if (found < 0) {
      found = i;
      fields[i + 1] = value;
    } else {
      fields.splice(i, 2);
      i -= 2;
    }
  }
  if (found >= 0) return;
  if (name.charCodeAt(0) === COLON) fields.unshift(name, value);
  else fields.push(name, value);
}

/** Removes every field named `name`. */
export function deleteField(fields: HeaderFields, name: string): void {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === name) {
      fields.splice(i, 2);
      i -= 2;
    }
  }
}

/**
 * The value of `name` as one string: the first value, or every value joined with ", " when the
 * name repeats (RFC 9110 §5.3). Allocates only for a repeated name.
 */
export function joinedFieldValue(fields: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] !== name) continue;
    value = value === undefined ? fields[i + 1] : `${value}, ${fields[i + 1]}`;
  }
  return value;
}

/**
 * The fields as an object for lookups by name (routing, picking): a repeated name's values
 * joined with ", " (RFC 9110 §5.3). The fields themselves stay as they came.
 */
export function headerMap(fields: readonly string[]): Record<string, string | undefined> {
  const map: Record<string, string | undefined> = Object.create(null) as Record<
    string,
    string | undefined
  >;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    const seen = map[name];
    map[name] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return map;
}
