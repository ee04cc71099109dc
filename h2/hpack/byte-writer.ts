// A growable output buffer that the HPACK encoder writes header blocks into.

/**
 * Where the encoder writes: `buf[pos..]`, after `reserve(n)` has made room for n more bytes.
 * A frame writer may implement it over its own buffer (leaving room for a frame header before
 * `pos`) so that a block is written where it is sent from, with no copy.
 */
export interface HpackOutput {
  buf: Buffer;
  pos: number;
  /** Makes `buf.length - pos >= n`, replacing `buf` by a larger copy when needed. */
  reserve(n: number): void;
}

/** An HpackOutput over one Buffer that doubles when full. Reused across blocks with reset(). */
export class ByteWriter implements HpackOutput {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reserve(n: number): void {
    if (this.buf.length - this.pos < n) this.grow(n);
  }

  /** Forgets what was written; the buffer is kept. */
  reset(): void {
    this.pos = 0;
  }

  /** A view of what was written (valid until the next write after reset()). */
  written(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private grow(n: number): void {
    let size = Math.max(this.buf.length * 2, 64);
    while (size - this.pos < n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
