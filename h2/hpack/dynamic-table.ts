// The HPACK dynamic table (RFC 7541 §2.3.2, §4): a ring of entries, newest first, with size
// accounting and eviction.

/** Bytes an entry costs besides its name and value (RFC 7541 §4.1). */
export const ENTRY_OVERHEAD = 32;

/** Initial ring capacity; 4,096 bytes hold at most 128 entries (all 32 bytes of overhead). */
const INITIAL_CAPACITY = 16;

/**
 * Entries are numbered in insertion order (their sequence number) and live in the ring at
 * `seq & mask`, so an entry keeps its number while newer ones push it to higher indexes: the
 * entry with sequence number `seq` has dynamic index `next - seq` (1 for the newest) and HPACK
 * index 61 + that. Strings are latin1: one character per octet, so `length` is the size in
 * octets.
 *
 * Sequence numbers are plain numbers and stay exact far beyond what a connection inserts (2^53).
 */
export class DynamicTable {
  /** Names and values by `seq & mask`; read directly by the codec's hot loops. */
  names: string[] = new Array<string>(INITIAL_CAPACITY).fill('');
  values: string[] = new Array<string>(INITIAL_CAPACITY).fill('');
  mask = INITIAL_CAPACITY - 1;
  /** Sequence number of the oldest entry. */
  first = 0;
  /** Sequence number the next entry gets. */
  next = 0;
  /** Octets in use, 32 per entry included. */
  size = 0;

  constructor(
    /** The current maximum size (RFC 7541 §4.2), set by table size updates. */
    public maxSize: number,
  ) {}

  /** Number of entries. */
  get length(): number {
    return this.next - this.first;
  }

  /**
   * Adds an entry as the newest, evicting the oldest ones until it fits. An entry larger than
   * the maximum size empties the table and is not added (RFC 7541 §4.4). Returns whether it
   * was added.
   */
  add(name: string, value: string): boolean {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.maxSize) {
      while (this.next > this.first) this.evictOldest();
      return false;
    }
    while (this.size + size > this.maxSize) this.evictOldest();
    if (this.next - this.first > this.mask) this.grow();
    const at = this.next & this.mask;
    this.names[at] = name;
    this.values[at] = value;
    this.next++;
    this.size += size;
    return true;
  }

  /** Applies a new maximum size, evicting the oldest entries until the table fits (§4.3). */
  setMaxSize(maxSize: number): void {
    this.maxSize = maxSize;
    while (this.size > maxSize) this.evictOldest();
  }

  /** [name, value] of every entry, newest first (for tests and diagnostics, not the hot path). */
  entries(): [string, string][] {
    const out: [string, string][] = [];
    for (let seq = this.next - 1; seq >= this.first; seq--) {
      out.push([this.names[seq & this.mask], this.values[seq & this.mask]]);
    }
    return out;
  }

  /** Called for each entry leaving the table, before it is dropped. */
  protected evicted(_name: string, _value: string, _seq: number): void {}

  private evictOldest(): void {
    const at = this.first & this.mask;
    const name = this.names[at];
    const value = this.values[at];
    this.size -= name.length + value.length + ENTRY_OVERHEAD;
    this.evicted(name, value, this.first);
    // Drop the references so evicted strings can be collected.
    this.names[at] = '';
    this.values[at] = '';
    this.first++;
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const names = new Array<string>(capacity).fill('');
    const values = new Array<string>(capacity).fill('');
    const mask = capacity - 1;
    for (let seq = this.first; seq < this.next; seq++) {
      names[seq & mask] = this.names[seq & this.mask];
      values[seq & mask] = this.values[seq & this.mask];
    }
    this.names = names;
    this.values = values;
    this.mask = mask;
  }
}
