// HPACK encoder (RFC 7541 §2, §6): header lists in, header blocks out, with static and dynamic
// table indexing and Huffman where it is shorter.
import type { HpackOutput } from './byte-writer.js';
import { ENTRY_OVERHEAD } from './dynamic-table.js';
import { EncoderTable, INDEX, NEVER, nameTemplates, type NameSlot } from './encoder-table.js';
import { huffmanEncode } from './huffman.js';
import { STATIC_TABLE_LENGTH } from './static-table.js';

/** The initial SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2). */
const DEFAULT_TABLE_SIZE = 4096;
/** Strings up to this length are copied by charCodeAt; longer ones by Buffer. */
const SHORT_STRING = 16;
/**
 * Bytes a field takes besides its strings, at most: a first byte with an index of up to 5 more
 * bytes, or a first byte and a name length, then a value length; a length under 2^28 takes at
 * most 5 bytes (RFC 7541 §5.1). 13, rounded up.
 */
const FIELD_OVERHEAD = 16;
/** Field positions whose name and slot encode() remembers from the last block. */
const REMEMBERED_POSITIONS = 64;

export interface HpackEncoderOptions {
  /**
   * The most table this encoder keeps, whatever larger size the peer allows. Default 4,096: the
   * initial SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2), which nghttp2's encoder also keeps to.
   */
  readonly maxTableSize?: number;
  /** Huffman-code strings where that is shorter (default true; false sends every string raw). */
  readonly huffman?: boolean;
  /** Names always sent as never indexed. Default DEFAULT_SENSITIVE_NAMES. */
  readonly sensitiveNames?: Iterable<string>;
  /** Names whose values are kept out of the table. Default DEFAULT_UNINDEXED_NAMES. */
  readonly unindexedNames?: Iterable<string>;
}

/**
 * One per connection direction: encodes this side's header blocks in the order they are sent,
 * keeping the dynamic table in step with the peer's decoder.
 *
 * Per field: an exact match in the static or dynamic table is sent as an index; otherwise a
 * literal, naming the field by index when a table has the name (the static one first, as RFC
 * 7541 Appendix C does). A literal enters the table (incremental indexing) unless its name is
 * sensitive (never indexed), its values change per call (unindexed names: only the first one
 * enters, so the name gets an index), or it would take over 3/4 of the table (nghttp2's rule:
 * it would evict nearly everything). Names and values are latin1 strings, one character per
 * octet; a character above 0xff is sent as its low byte, as Buffer's latin1 does.
 */
export class HpackEncoder {
  readonly table: EncoderTable;
  private readonly huffman: boolean;
  private readonly maxTableSize: number;
  /** A size update is due at the start of the next block. */
  private updatePending = false;
  /** The lowest size the table had since the last block, current one included (§4.2). */
  private lowestSize = 0;
  /** The size to announce last. */
  private pendingSize = 0;
  /** Names and their slots by field position in the last block encode() wrote. */
  private readonly lastNames: string[] = [];
  private readonly lastSlots: (NameSlot | undefined)[] = [];

  constructor(options: HpackEncoderOptions = {}) {
    this.maxTableSize = options.maxTableSize ?? DEFAULT_TABLE_SIZE;
    this.huffman = options.huffman ?? true;
    // Both tables start at the protocol's initial 4,096; a smaller maximum is announced by a
    // size update in the first block.
    this.table = new EncoderTable(
      DEFAULT_TABLE_SIZE,
      nameTemplates(options.sensitiveNames, options.unindexedNames),
    );
    this.setPeerMaxTableSize(DEFAULT_TABLE_SIZE);
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE (call on each SETTINGS frame that carries it). The
   * table follows it, up to maxTableSize; a change is announced by a size update at the start
   * of the next block, preceded by the lowest size in between when that was lower (§4.2).
   */
  setPeerMaxTableSize(peerSize: number): void {
    const size = Math.min(peerSize, this.maxTableSize);
    if (!this.updatePending) {
      if (size === this.table.maxSize) return;
      this.updatePending = true;
      this.lowestSize = Math.min(size, this.table.maxSize);
    } else if (size < this.lowestSize) {
      this.lowestSize = size;
    }
    this.pendingSize = size;
  }

  /**
   * Encodes a whole block: `fields[0, length)` is name, value, name, value, ... When
   * `neverIndexed` is given, it lists the positions in `fields` (of the names, ascending) of
   * fields to send as never indexed besides the sensitive names: what the decoder reported for
   * a block being forwarded (`encode(list.fields, out, list.neverIndexed, list.length)`).
   */
  encode(
    fields: readonly string[],
    out: HpackOutput,
    neverIndexed: readonly number[] | null = null,
    length = fields.length,
  ): void {
    this.startBlock(out);
    let next = neverIndexed === null || neverIndexed.length === 0 ? -1 : neverIndexed[0];
    let k = 0;
    const names = this.lastNames;
    const slots = this.lastSlots;
    for (let i = 0; i + 1 < length; i += 2) {
      let never = false;
      if (i === next) {
        never = true;
        next = ++k < neverIndexed!.length ? neverIndexed![k] : -1;
      }
      // Blocks of one connection tend to repeat their names in the same order, often as the
      // same string objects (a decoder hands out the strings of its tables): a comparison at
      // the same position in the last block is cheaper than a Map lookup.
      const name = fields[i];
      const at = i >> 1;
      let slot: NameSlot | undefined;
      if (at < REMEMBERED_POSITIONS) {
        slot = slots[at];
        if (slot === undefined || slot.dropped || names[at] !== name) {
          slot = this.table.slot(name);
          names[at] = name;
          slots[at] = slot;
        }
      } else {
        slot = this.table.slot(name);
      }
      this.encodeWith(out, name, fields[i + 1], never, slot);
    }
  }

  /**
   * Starts a block: writes the size updates due, if any. Call before the block's first
   * encodeField (encode does it).
   */
  startBlock(out: HpackOutput): void {
    if (!this.updatePending) return;
    this.updatePending = false;
    out.reserve(12);
    const current = this.table.maxSize;
    const lowest = this.lowestSize;
    const final = this.pendingSize;
    // The lowest size in between matters only when it is below both the current and the final
    // one: then the peer's decoder may require it, and the table must shed what it sheds.
    if (lowest < current && lowest < final) this.writeSizeUpdate(out, lowest);
    if (final !== current || lowest < current) this.writeSizeUpdate(out, final);
  }

  /** Encodes one field; `never` sends it as never indexed whatever its name. */
  encodeField(out: HpackOutput, name: string, value: string, never = false): void {
    this.encodeWith(out, name, value, never, this.table.slot(name));
  }

  private encodeWith(
    out: HpackOutput,
    name: string,
    value: string,
    never: boolean,
    slot: NameSlot | undefined,
  ): void {
    out.reserve(FIELD_OVERHEAD + name.length + value.length);
    const table = this.table;
    const policy = never ? NEVER : slot === undefined ? INDEX : slot.policy;
    if (policy !== NEVER && slot !== undefined) {
      // An indexed field (RFC 7541 §6.1). Never-indexed fields stay literal even when a table
      // has them, so that the next hop also learns not to index them.
      const code = slot.lastValue === value ? slot.lastCode : slot.values.get(value);
      // A dynamic code below table.first is an evicted entry (only the remembered one can be).
      if (code !== undefined && (code < 0 || code >= table.first)) {
        slot.lastValue = value;
        slot.lastCode = code;
        const index = code < 0 ? -code : STATIC_TABLE_LENGTH + table.next - code;
        out.pos = writeInteger(out.buf, out.pos, index, 0x7f, 0x80);
        return;
      }
    }
    let nameIndex = 0;
    if (slot !== undefined) {
      if (slot.staticIndex !== 0) nameIndex = slot.staticIndex;
      else if (slot.dynamicCount > 0)
        nameIndex = STATIC_TABLE_LENGTH + table.next - slot.dynamicSeq;
    }
    const buf = out.buf;
    let pos = out.pos;
    let indexing = false;
    if (policy === NEVER) {
      pos = writeInteger(buf, pos, nameIndex, 0x0f, 0x10);
    } else {
      const size = name.length + value.length + ENTRY_OVERHEAD;
      indexing = size <= (table.maxSize * 3) / 4 && (policy === INDEX || nameIndex === 0);
      pos = indexing
        ? writeInteger(buf, pos, nameIndex, 0x3f, 0x40)
        : writeInteger(buf, pos, nameIndex, 0x0f, 0x00);
    }
    if (nameIndex === 0) pos = this.writeString(buf, pos, name);
    out.pos = this.writeString(buf, pos, value);
    if (indexing) table.addIndexed(name, value, slot);
  }

  private writeSizeUpdate(out: HpackOutput, size: number): void {
    out.pos = writeInteger(out.buf, out.pos, size, 0x1f, 0x20);
    this.table.setMaxSize(size);
  }

  /**
   * A string literal (§5.2): Huffman-coded when that is shorter, else raw latin1. The Huffman
   * form is written in place, after room for the raw length, and abandoned as soon as it is
   * no shorter: one pass decides and encodes.
   */
  private writeString(buf: Buffer, pos: number, str: string): number {
    const length = str.length;
    if (this.huffman && length > 1) {
      const prefix = integerBytes(length, 0x7f);
      const start = pos + prefix;
      const end = huffmanEncode(str, buf, start, start + length - 1);
      if (end >= 0) {
        const coded = end - start;
        const codedPrefix = integerBytes(coded, 0x7f);
        // Shorter by enough to need one length byte less (from 127 and more down to less).
        if (codedPrefix < prefix) buf.copyWithin(pos + codedPrefix, start, end);
        writeInteger(buf, pos, coded, 0x7f, 0x80);
        return pos + codedPrefix + coded;
      }
    }
    pos = writeInteger(buf, pos, length, 0x7f, 0x00);
    if (length <= SHORT_STRING) {
      for (let i = 0; i < length; i++) buf[pos + i] = str.charCodeAt(i);
      return pos + length;
    }
    return pos + buf.write(str, pos, 'latin1');
  }
}

/** Bytes an integer takes with an N-bit prefix whose all-ones value is `max` (RFC 7541 §5.1). */
function integerBytes(value: number, max: number): number {
  if (value < max) return 1;
  let n = 2;
  for (value -= max; value >= 0x80; value = value >>> 7) n++;
  return n;
}

/**
 * An integer with an N-bit prefix (RFC 7541 §5.1): `max` is 2^N - 1, `flags` the bits above
 * the prefix in the first byte. Values up to 2^32 - 1.
 */
function writeInteger(buf: Buffer, pos: number, value: number, max: number, flags: number): number {
  if (value < max) {
    buf[pos] = flags | value;
    return pos + 1;
  }
  buf[pos++] = flags | max;
  value -= max;
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = value >>> 7;
  }
  buf[pos] = value;
  return pos + 1;
}
