// HPACK decoder (RFC 7541 §3, §6): header blocks in, a flat [name, value, ...] list out, with
// the header list size limit enforced while decoding.
import { DynamicTable, ENTRY_OVERHEAD } from './dynamic-table.js';
import { HpackError, type HpackErrorCode } from './errors.js';
import type { HeaderList } from './header-list.js';
import { HUFFMAN_EOS, huffmanDecode } from './huffman.js';
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from './static-table.js';

/** The initial SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2). */
export const DEFAULT_TABLE_SIZE = 4096;
/**
 * SETTINGS_MAX_HEADER_LIST_SIZE when none is given: 65,535 octets, node:http2's default
 * (`maxHeaderListSize`), which is what the proxy has advertised so far.
 */
export const DEFAULT_MAX_HEADER_LIST_SIZE = 65535;

/** The largest integer a representation may carry: table sizes and lengths fit in 32 bits. */
const MAX_INTEGER = 0xffffffff;
/** Continuation bytes after the prefix: 5 carry 35 bits, enough for 2^32 - 1 (RFC 7541 §5.1). */
const MAX_INTEGER_BYTES = 5;
/** Huffman output up to this size reuses one scratch buffer; larger strings get their own. */
const SCRATCH_MAX = 64 * 1024;

let scratch = Buffer.allocUnsafe(4096);

export interface HpackDecoderOptions {
  /**
   * The SETTINGS_HEADER_TABLE_SIZE this side advertises: table size updates above it are
   * errors. Default 4,096 (RFC 9113 §6.5.2).
   */
  readonly maxTableSize?: number;
  /**
   * SETTINGS_MAX_HEADER_LIST_SIZE this side advertises: the sum over fields of name + value +
   * 32 octets (RFC 9113 §6.5.2). Default 65,535.
   */
  readonly maxHeaderListSize?: number;
}

/**
 * One per connection direction: decodes the peer's header blocks in the order they arrive,
 * keeping the dynamic table in step with the peer's encoder.
 *
 * Names and values are latin1 strings, one character per octet, exactly as sent (HTTP field
 * values are octets; RFC 9110 §5.5). No name or value is checked here beyond HPACK itself:
 * lower case, pseudo-header rules and allowed characters are the connection layer's.
 */
export class HpackDecoder {
  readonly table: DynamicTable;
  /** The limit for the header list of each block; may be changed between blocks. */
  maxHeaderListSize: number;

  /** The acknowledged SETTINGS_HEADER_TABLE_SIZE: the most a size update may ask for. */
  private tableSizeLimit: number;
  /** A size update at or below this is due at the start of the next block; -1 when none is. */
  private requiredUpdate = -1;
  private src: Buffer = scratch;
  private pos = 0;
  private end = 0;
  /** A string read since the flag was last cleared broke RFC 9113 §8.2.1's character rules. */
  private badCharacters = false;
  /**
   * The sequence number of the newest dynamic entry added with such a string, -1 for none: a
   * reference to it or an older entry may bring one into a list (a conservative test; peers
   * that follow the rules never add one).
   */
  private newestBadEntry = -1;

  constructor(options: HpackDecoderOptions = {}) {
    this.tableSizeLimit = options.maxTableSize ?? DEFAULT_TABLE_SIZE;
    this.table = new DynamicTable(this.tableSizeLimit);
    this.maxHeaderListSize = options.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE;
  }

  /**
   * The SETTINGS_HEADER_TABLE_SIZE this side advertised, once the peer has acknowledged it.
   * When it is below the table's current maximum, the peer's next block must start with a size
   * update to at most the lowest value set since its last block (RFC 7541 §4.2); until then
   * the table keeps its entries.
   */
  setMaxTableSize(limit: number): void {
    this.tableSizeLimit = limit;
    if (limit < this.table.maxSize) {
      this.requiredUpdate = this.requiredUpdate < 0 ? limit : Math.min(this.requiredUpdate, limit);
    }
  }

  /**
   * Decodes the block src[start, end) into `list` (cleared first): its fields in block order,
   * and where the never-indexed ones are.
   *
   * Returns null, or the error. On SWY_ERR_H2_HPACK_HEADER_LIST_TOO_LARGE the whole block was still
   * read (the table stays in step, the connection may go on) but `list` holds only the fields
   * before the limit was crossed. On any other error `list` is empty and the decoder unusable:
   * the connection must end with COMPRESSION_ERROR. Throws only for a range outside `src`.
   */
  decode(src: Buffer, start: number, end: number, list: HeaderList): HpackError | null {
    if (start < 0 || end > src.length || start > end) {
      throw new RangeError(`block [${start}, ${end}) outside a buffer of ${src.length} bytes`);
    }
    list.clear();
    this.src = src;
    this.pos = start;
    this.end = end;
    try {
      const result = this.run(list);
      this.src = scratch; // let go of the caller's buffer
      return result;
    } catch (err) {
      this.src = scratch;
      list.clear();
      if (err instanceof HpackError) return err;
      throw err;
    }
  }

  private run(list: HeaderList): HpackError | null {
    const src = this.src;
    const end = this.end;
    const table = this.table;
    const limit = this.maxHeaderListSize;
    const out = list.fields;
    let n = 0;
    let listSize = 0;
    let over = false;
    let fields = false;
    let overAt = 0;
    let suspect = false;
    this.badCharacters = false;
    // The position lives in a local while the loop runs and in this.pos for the helpers that
    // read integers of several bytes and strings.
    let pos = this.pos;
    while (pos < end) {
      const at = pos;
      const b = src[pos++];
      if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): only before the first field.
        if (fields)
          this.fail('SWY_ERR_H2_HPACK_BAD_TABLE_SIZE_UPDATE', 'size update after a field', at);
        this.pos = pos;
        const size = this.integer(b, 0x1f, at);
        pos = this.pos;
        if (size > this.tableSizeLimit) {
          this.fail(
            'SWY_ERR_H2_HPACK_BAD_TABLE_SIZE_UPDATE',
            `size update to ${size} above SETTINGS_HEADER_TABLE_SIZE ${this.tableSizeLimit}`,
            at,
          );
        }
        table.setMaxSize(size);
        if (size <= this.requiredUpdate) this.requiredUpdate = -1;
        continue;
      }
      if (!fields) {
        fields = true;
        if (this.requiredUpdate >= 0) this.missingUpdate(at);
      }
      let name: string;
      let value: string;
      let never = false;
      if ((b & 0x80) !== 0) {
        // Indexed field (§6.1): the common case, an index below 127, read here.
        let index = b & 0x7f;
        if (index === 0x7f) {
          this.pos = pos;
          index = this.integer(b, 0x7f, at);
          pos = this.pos;
        }
        if (index <= STATIC_TABLE_LENGTH) {
          if (index === 0) this.fail('SWY_ERR_H2_HPACK_BAD_INDEX', 'index 0', at);
          name = STATIC_NAMES[index];
          value = STATIC_VALUES[index];
        } else {
          const seq = this.dynamicSeq(index, at);
          name = table.names[seq & table.mask];
          value = table.values[seq & table.mask];
          if (seq <= this.newestBadEntry) suspect = true;
        }
      } else {
        // Literal field (§6.2): with incremental indexing (01), never indexed (0001) or
        // without indexing (0000); the index of a name from the tables, or 0 and a literal name.
        this.pos = pos;
        const indexing = (b & 0x40) !== 0;
        const index = indexing ? this.integer(b, 0x3f, at) : this.integer(b, 0x0f, at);
        if (index === 0) {
          name = this.string(over && !indexing, NAME);
        } else if (index <= STATIC_TABLE_LENGTH) {
          name = STATIC_NAMES[index];
        } else {
          const seq = this.dynamicSeq(index, at);
          name = table.names[seq & table.mask];
          if (seq <= this.newestBadEntry) suspect = true;
        }
        value = this.string(over && !indexing, VALUE);
        pos = this.pos;
        const bad = this.badCharacters;
        if (bad) {
          suspect = true;
          this.badCharacters = false;
        }
        if (indexing) {
          if (table.add(name, value) && bad) this.newestBadEntry = table.next - 1;
        } else {
          never = (b & 0x10) !== 0;
        }
      }
      if (over) continue;
      const size = listSize + name.length + value.length + ENTRY_OVERHEAD;
      if (size > limit) {
        // Keep reading, so the table stays in step, but keep nothing more.
        over = true;
        overAt = at;
        continue;
      }
      listSize = size;
      if (never) list.neverIndexed.push(n);
      out[n] = name;
      out[n + 1] = value;
      n += 2;
    }
    this.pos = pos;
    list.length = n;
    list.size = listSize;
    list.charactersChecked = !suspect;
    if (!fields && this.requiredUpdate >= 0) this.missingUpdate(this.pos);
    if (over) {
      return new HpackError(
        'SWY_ERR_H2_HPACK_HEADER_LIST_TOO_LARGE',
        `header list larger than SETTINGS_MAX_HEADER_LIST_SIZE ${limit}`,
        overAt,
      );
    }
    return null;
  }

  /** The sequence number of dynamic entry `index` (62 is the newest). */
  private dynamicSeq(index: number, at: number): number {
    const table = this.table;
    const back = index - STATIC_TABLE_LENGTH;
    if (back > table.next - table.first) {
      this.fail(
        'SWY_ERR_H2_HPACK_BAD_INDEX',
        `index ${index} past the table (${STATIC_TABLE_LENGTH} static + ${table.next - table.first} dynamic entries)`,
        at,
      );
    }
    return table.next - back;
  }

  /** An integer whose prefix (already read, in `first`) has `max` as all ones (RFC 7541 §5.1). */
  private integer(first: number, max: number, at: number): number {
    const value = first & max;
    if (value < max) return value;
    const src = this.src;
    let result = max;
    let shift = 1;
    for (let n = 0; n < MAX_INTEGER_BYTES; n++) {
      if (this.pos >= this.end)
        this.fail('SWY_ERR_H2_HPACK_TRUNCATED', 'block ends in an integer', at);
      const b = src[this.pos++];
      result += (b & 0x7f) * shift;
      if (result > MAX_INTEGER) {
        this.fail('SWY_ERR_H2_HPACK_INTEGER_OVERFLOW', 'integer above 2^32 - 1', at);
      }
      if ((b & 0x80) === 0) return result;
      shift *= 128;
    }
    return this.fail(
      'SWY_ERR_H2_HPACK_INTEGER_OVERFLOW',
      `integer longer than ${MAX_INTEGER_BYTES} continuation bytes`,
      at,
    );
  }

  /**
   * A string literal (§5.2) at pos: its length checked against what is left of the block, then
   * Huffman-decoded or taken as latin1. With `skip` only its length is checked and "" returned:
   * for fields past the list limit that do not enter the table.
   */
  private string(skip: boolean, kind: StringKind): string {
    const at = this.pos;
    if (at >= this.end) this.fail('SWY_ERR_H2_HPACK_TRUNCATED', 'block ends before a string', at);
    const src = this.src;
    const b = src[this.pos++];
    const length = this.integer(b, 0x7f, at);
    const start = this.pos;
    if (length > this.end - start) {
      this.fail(
        'SWY_ERR_H2_HPACK_TRUNCATED',
        `string of ${length} bytes with ${this.end - start} left in the block`,
        at,
      );
    }
    this.pos = start + length;
    if (skip) return '';
    if (length === 0) {
      if (kind === NAME) this.badCharacters = true; // an empty name
      return '';
    }
    if ((b & 0x80) === 0) {
      if (!validChars(src, start, start + length, kind)) this.badCharacters = true;
      return latin1(src, start, start + length);
    }
    // Every code is at least 5 bits, so the output is at most 8/5 of the input.
    const room = Math.ceil((length * 8) / 5);
    let dst = scratch;
    if (room > dst.length) {
      dst = Buffer.allocUnsafe(room);
      if (room <= SCRATCH_MAX) scratch = dst;
    }
    const n = huffmanDecode(src, start, start + length, dst, 0);
    if (n < 0) {
      this.fail(
        'SWY_ERR_H2_HPACK_BAD_HUFFMAN',
        n === HUFFMAN_EOS ? 'EOS in a Huffman string' : 'bad Huffman padding',
        at,
      );
    }
    if (!validChars(dst, 0, n, kind)) this.badCharacters = true;
    return latin1(dst, 0, n);
  }

  private missingUpdate(at: number): never {
    return this.fail(
      'SWY_ERR_H2_HPACK_BAD_TABLE_SIZE_UPDATE',
      `no size update to at most ${this.requiredUpdate} at the start of the block after SETTINGS_HEADER_TABLE_SIZE was lowered`,
      at,
    );
  }

  private fail(code: HpackErrorCode, message: string, at: number): never {
    throw new HpackError(code, message, at);
  }
}

/** What a string literal is, for the character rules it must follow. */
const NAME = 0;
const VALUE = 1;
type StringKind = typeof NAME | typeof VALUE;

/**
 * Whether b[start, end) (not empty) follows RFC 9113 §8.2.1 as a field name (no octet
 * 0x00-0x20, no upper-case letter, none from 0x7f) or as a value (no NUL, CR or LF, and no
 * space or tab at either end). Checked here, while the octets are at hand, so the connection's
 * header rules need not walk the strings again (h2/connection/header-rules.ts).
 */
function validChars(b: Buffer, start: number, end: number, kind: StringKind): boolean {
  if (kind === NAME) {
    for (let i = start; i < end; i++) {
      const c = b[i];
      if (c <= 0x20 || (c >= 0x41 && c <= 0x5a) || c >= 0x7f) return false;
    }
    return true;
  }
  let c = b[start];
  if (c === 0x20 || c === 0x09) return false;
  c = b[end - 1];
  if (c === 0x20 || c === 0x09) return false;
  for (let i = start; i < end; i++) {
    c = b[i];
    if (c === 0x00 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}

/**
 * bytes[start, end) as a latin1 string. Short ones (grpc-timeout values, statuses) are built by
 * one fromCharCode call: about 15 ns against 60 to 100 for a loop of concatenations or a call
 * into Buffer (measured on Node 20).
 */
function latin1(b: Buffer, start: number, end: number): string {
  const s = start;
  switch (end - start) {
    case 1:
      return String.fromCharCode(b[s]);
    case 2:
      return String.fromCharCode(b[s], b[s + 1]);
    case 3:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2]);
    case 4:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3]);
    case 5:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4]);
    case 6:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5]);
    case 7:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6]);
    case 8:
      return String.fromCharCode(
        b[s],
        b[s + 1],
        b[s + 2],
        b[s + 3],
        b[s + 4],
        b[s + 5],
        b[s + 6],
        b[s + 7],
      );
    default:
      return b.toString('latin1', start, end);
  }
}
