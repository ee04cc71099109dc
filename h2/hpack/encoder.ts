// HPACK encoder (RFC 7541 §2, §6): header lists in, header blocks out, with static and dynamic
// table indexing and Huffman where it is shorter.
import type { HpackOutput } from './byte-writer.js';
import { DynamicTable, ENTRY_OVERHEAD } from './dynamic-table.js';
import { huffmanEncode, huffmanLength } from './huffman.js';
import { DEFAULT_SENSITIVE_NAMES, DEFAULT_UNINDEXED_NAMES } from './indexing-policy.js';
import { STATIC_BY_NAME, STATIC_TABLE_LENGTH } from './static-table.js';

/** The initial SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2). */
const DEFAULT_TABLE_SIZE = 4096;
/** Strings up to this length are copied by charCodeAt; longer ones by Buffer. */
const SHORT_STRING = 16;
/** Most bytes a field's prefix integers take: 1 + 5 for an index or length, twice, plus 4. */
const FIELD_OVERHEAD = 16;

/** How a name is sent when its value has no exact match in the tables. */
const INDEX = 0;
/** Literal without indexing, unless the name is in no table yet (then once with indexing). */
const NO_INDEX = 1;
/** Literal never indexed (RFC 7541 §6.2.3). */
const NEVER = 2;
type Policy = typeof INDEX | typeof NO_INDEX | typeof NEVER;

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

/** What the encoder knows about one name: its static entries, dynamic entries and policy. */
class NameSlot {
  /** Dynamic entries with this name: value -> sequence number of the newest such entry. */
  readonly dynamicValues = new Map<string, number>();
  /** Sequence number of the newest dynamic entry with this name, valid while dynamicCount > 0. */
  dynamicSeq = 0;
  dynamicCount = 0;
  constructor(
    /** Lowest static index with this name, or 0. */
    readonly staticIndex: number,
    /** Static entries with this name: value -> index; null when none. */
    readonly staticValues: ReadonlyMap<string, number> | null,
    readonly policy: Policy,
    /** Kept when its last dynamic entry leaves: a static name or one with a policy. */
    readonly permanent: boolean,
  ) {}
}

/** The encoder's dynamic table: the ring, plus lookups by name and by name and value. */
class IndexedTable extends DynamicTable {
  constructor(
    maxSize: number,
    private readonly slots: Map<string, NameSlot>,
  ) {
    super(maxSize);
  }

  /** Adds an entry whose name has `slot` (created by the caller when the name had none). */
  addIndexed(name: string, value: string, slot: NameSlot): void {
    // Counted before add() evicts, so that evicting the name's last older entry does not drop
    // the slot this entry is about to use.
    slot.dynamicCount++;
    if (!this.add(name, value)) {
      this.evicted(name, '', -1);
      return;
    }
    const seq = this.next - 1;
    slot.dynamicValues.set(value, seq);
    slot.dynamicSeq = seq;
  }

  protected override evicted(name: string, value: string, seq: number): void {
    const slot = this.slots.get(name)!;
    slot.dynamicCount--;
    // A newer entry with the same value (added after this one was) keeps the map entry.
    if (seq >= 0 && slot.dynamicValues.get(value) === seq) slot.dynamicValues.delete(value);
    if (slot.dynamicCount === 0 && !slot.permanent) this.slots.delete(name);
  }
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
  readonly table: IndexedTable;
  private readonly slots = new Map<string, NameSlot>();
  private readonly huffman: boolean;
  private readonly maxTableSize: number;
  /** A size update is due at the start of the next block. */
  private updatePending = false;
  /** The lowest size the table had since the last block, current one included (§4.2). */
  private lowestSize = 0;
  /** The size to announce last. */
  private pendingSize = 0;

  constructor(options: HpackEncoderOptions = {}) {
    this.maxTableSize = options.maxTableSize ?? DEFAULT_TABLE_SIZE;
    this.huffman = options.huffman ?? true;
    // Both tables start at the protocol's initial 4,096; a smaller maximum is announced by a
    // size update in the first block.
    this.table = new IndexedTable(DEFAULT_TABLE_SIZE, this.slots);
    this.setPeerMaxTableSize(DEFAULT_TABLE_SIZE);
    const policies = new Map<string, Policy>();
    for (const name of options.unindexedNames ?? DEFAULT_UNINDEXED_NAMES) {
      policies.set(name, NO_INDEX);
    }
    for (const name of options.sensitiveNames ?? DEFAULT_SENSITIVE_NAMES) policies.set(name, NEVER);
    for (const [name, s] of STATIC_BY_NAME) {
      this.slots.set(name, new NameSlot(s.index, s.values, policies.get(name) ?? INDEX, true));
    }
    for (const [name, policy] of policies) {
      if (!this.slots.has(name)) this.slots.set(name, new NameSlot(0, null, policy, true));
    }
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
   * Encodes a whole block: `fields` is name, value, name, value, ... When `neverIndexed` is
   * given, it lists the positions in `fields` (of the names, ascending) of fields to send as
   * never indexed besides the sensitive names: what HpackDecoder reported for a block being
   * forwarded.
   */
  encode(
    fields: readonly string[],
    out: HpackOutput,
    neverIndexed: readonly number[] | null = null,
  ): void {
    this.startBlock(out);
    let next = neverIndexed === null || neverIndexed.length === 0 ? -1 : neverIndexed[0];
    let k = 0;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      let never = false;
      if (i === next) {
        never = true;
        next = ++k < neverIndexed!.length ? neverIndexed![k] : -1;
      }
      this.encodeField(out, fields[i], fields[i + 1], never);
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
    out.reserve(FIELD_OVERHEAD + name.length + value.length);
    const table = this.table;
    const slot = this.slots.get(name);
    const policy = never ? NEVER : slot === undefined ? INDEX : slot.policy;
    if (policy !== NEVER && slot !== undefined) {
      // An indexed field (RFC 7541 §6.1). Never-indexed fields stay literal even when a table
      // has them, so that the next hop also learns not to index them.
      const staticIndex = slot.staticValues === null ? undefined : slot.staticValues.get(value);
      if (staticIndex !== undefined) {
        out.pos = writeInteger(out.buf, out.pos, staticIndex, 0x7f, 0x80);
        return;
      }
      const seq = slot.dynamicValues.get(value);
      if (seq !== undefined) {
        out.pos = writeInteger(
          out.buf,
          out.pos,
          STATIC_TABLE_LENGTH + table.next - seq,
          0x7f,
          0x80,
        );
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
    if (indexing) {
      let s = slot;
      if (s === undefined) this.slots.set(name, (s = new NameSlot(0, null, INDEX, false)));
      table.addIndexed(name, value, s);
    }
  }

  private writeSizeUpdate(out: HpackOutput, size: number): void {
    out.pos = writeInteger(out.buf, out.pos, size, 0x1f, 0x20);
    this.table.setMaxSize(size);
  }

  /** A string literal (§5.2): Huffman-coded when that is shorter, else raw latin1. */
  private writeString(buf: Buffer, pos: number, str: string): number {
    const length = str.length;
    if (this.huffman && length > 1) {
      const coded = huffmanLength(str);
      if (coded < length) {
        pos = writeInteger(buf, pos, coded, 0x7f, 0x80);
        return huffmanEncode(str, buf, pos);
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
