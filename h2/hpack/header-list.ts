// A decoded header list: one flat array of names and values, reused from block to block.

/**
 * What HpackDecoder.decode() fills: `fields[0, length)` is name, value, name, value, ... in
 * block order, a repeated name kept as separate fields. The array keeps its capacity from one
 * block to the next, so decoding allocates nothing but the strings of literal fields (entries
 * past `length` are left over from earlier blocks). Copy with toArray() what must outlive the
 * next decode.
 */
export class HeaderList {
  readonly fields: string[] = [];
  /** Strings in use: twice the number of fields. */
  length = 0;
  /**
   * Where in `fields` the names of fields sent as never indexed are (RFC 7541 §6.2.3),
   * ascending, so that a proxy can forward them the same way (HpackEncoder.encode takes it).
   */
  readonly neverIndexed: number[] = [];
  /** Octets by SETTINGS_MAX_HEADER_LIST_SIZE's measure: name + value + 32 per field. */
  size = 0;
  /**
   * Whether every name and value is known to follow RFC 9113 §8.2.1's character rules: set by
   * the decoder, which checks literal strings as it reads them and knows the tables' entries.
   * False for lists filled any other way, which are then checked field by field.
   */
  charactersChecked = false;

  /** Number of fields. */
  get count(): number {
    return this.length >> 1;
  }

  clear(): void {
    this.length = 0;
    this.size = 0;
    this.charactersChecked = false;
    if (this.neverIndexed.length !== 0) this.neverIndexed.length = 0;
  }

  /** The fields as a new flat array of their own. */
  toArray(): string[] {
    return this.fields.slice(0, this.length);
  }
}
