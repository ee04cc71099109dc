// The HPACK static table (RFC 7541 Appendix A): 61 fixed entries, indexes 1 to 61.

/** Entries 1..61 as [name, value]; index 0 is unused (RFC 7541 §2.3.3 starts at 1). */
const ENTRIES: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** Number of static entries; dynamic indexes start after it (RFC 7541 §2.3.3). */
export const STATIC_TABLE_LENGTH = 61;

/** Names by index (1..61); [0] is ''. Plain arrays so the decoder reads them without a call. */
export const STATIC_NAMES: readonly string[] = ['', ...ENTRIES.map((e) => e[0])];
/** Values by index (1..61); [0] is ''. */
export const STATIC_VALUES: readonly string[] = ['', ...ENTRIES.map((e) => e[1])];

/** What the encoder needs to know about a name the static table holds. */
export interface StaticName {
  /** The lowest index with this name (RFC 7541 Appendix C uses it for name references). */
  readonly index: number;
  /** Index of each value the table holds with this name. */
  readonly values: ReadonlyMap<string, number>;
}

function buildNames(): ReadonlyMap<string, StaticName> {
  const byName = new Map<string, { index: number; values: Map<string, number> }>();
  for (let i = 1; i <= STATIC_TABLE_LENGTH; i++) {
    const name = STATIC_NAMES[i];
    let entry = byName.get(name);
    if (entry === undefined) byName.set(name, (entry = { index: i, values: new Map() }));
    entry.values.set(STATIC_VALUES[i], i);
  }
  return byName;
}

/** Static entries by name, for the encoder's lookups. */
export const STATIC_BY_NAME: ReadonlyMap<string, StaticName> = buildNames();
