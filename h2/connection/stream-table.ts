// A connection's open streams by id: an open-addressing table that never shrinks.
//
// Why not a Map: V8 rebuilds a Map's table as entries come and go (a stream per call), and an
// outdated table keeps a link to its successor and its entries. Once one such table has been
// promoted to the old generation, every stream stored after it survives the young-generation
// collections that should have freed it, and with it the call it carried: at 16 x 8 unary
// calls a proxy promoted about 1.5 KB of every call's 2.3 KB and spent a quarter of its CPU in
// GC. A plain array indexed by id, updated in place, keeps nothing it no longer holds.

/** What the table keeps: anything with a stream id. */
export interface HasStreamId {
  readonly id: number;
}

const INITIAL_SLOTS = 32;

export class StreamTable<T extends HasStreamId> {
  /** Streams at `home(id)` or the first free slot after it (linear probing). */
  private slots: (T | undefined)[];
  private mask: number;
  /** Streams in the table. */
  size = 0;

  constructor(initialSlots = INITIAL_SLOTS) {
    let n = INITIAL_SLOTS;
    while (n < initialSlots) n *= 2;
    this.slots = new Array<T | undefined>(n).fill(undefined);
    this.mask = n - 1;
  }

  get(id: number): T | undefined {
    const slots = this.slots;
    const mask = this.mask;
    // Each side's ids go up by 2: halving them makes neighbouring streams neighbouring slots.
    for (let i = (id >>> 1) & mask; ; i = (i + 1) & mask) {
      const s = slots[i];
      if (s === undefined || s.id === id) return s;
    }
  }

  /** Adds `stream`; its id must not be in the table. */
  add(stream: T): void {
    // At most half full, so probes stay short (about 1.5 on average).
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    this.place(stream);
    this.size++;
  }

  /** Removes the stream with `id`; false when there is none. */
  delete(id: number): boolean {
    const slots = this.slots;
    const mask = this.mask;
    let i = (id >>> 1) & mask;
    for (;;) {
      const s = slots[i];
      if (s === undefined) return false;
      if (s.id === id) break;
      i = (i + 1) & mask;
    }
    slots[i] = undefined;
    this.size--;
    // Backward shift: move later streams of the run into the hole when their home slot allows,
    // so a lookup never stops early at it (no tombstones to sweep later).
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const s = slots[j];
      if (s === undefined) return true;
      const home = (s.id >>> 1) & mask;
      // `s` may move to i when its home is not in the cyclic range (i, j].
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (inRange) continue;
      slots[i] = s;
      slots[j] = undefined;
      i = j;
    }
  }

  /** The streams, ordered by id (a copy: callers may change the table while going through it). */
  list(): T[] {
    const out: T[] = [];
    for (const s of this.slots) if (s !== undefined) out.push(s);
    return out.sort((a, b) => a.id - b.id);
  }

  /** Calls `fn` for every stream; `fn` must not add or remove streams. */
  forEach(fn: (stream: T) => void): void {
    for (const s of this.slots) if (s !== undefined) fn(s);
  }

  private place(stream: T): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = (stream.id >>> 1) & mask;
    while (slots[i] !== undefined) i = (i + 1) & mask;
    slots[i] = stream;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Array<T | undefined>(old.length * 2).fill(undefined);
    this.mask = this.slots.length - 1;
    for (const s of old) if (s !== undefined) this.place(s);
  }
}
