// A small, stable 32-bit hash for ring_hash: FNV-1a over UTF-16 code units, finished with the
// MurmurHash3 avalanche step. Same input, same output, in every process and on every version.

/** MurmurHash3's 32-bit finalizer: a bijection that spreads every input bit over the output. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes a string without allocating (no UTF-8 encoding step). FNV-1a alone clusters on short
 * keys that differ only at the end ("user-1", "user-2"); the finalizer fixes that.
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h ^= c & 0xff;
    h = Math.imul(h, 0x01000193);
    h ^= c >>> 8;
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** The hash of the `index`-th ring point of an endpoint whose key hashes to `keyHash`. */
export function pointHash(keyHash: number, index: number): number {
  return mix32((keyHash ^ mix32(Math.imul(index + 1, 0x9e3779b9))) >>> 0);
}
