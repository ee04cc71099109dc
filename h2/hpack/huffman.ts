// HPACK's Huffman code (RFC 7541 Appendix B): a 4-bit state machine decoder and an encoder.

/**
 * Appendix B as [code, bit length] per symbol 0..256 (256 is EOS), codes right-aligned: symbol
 * 0 is |11111111|11000, hex 1ff8, 13 bits. The code is canonical (codes of one length are
 * consecutive, in symbol order); a test checks that, and that it is complete.
 */
// prettier-ignore
const CODE_TABLE = [
  0x1ff8, 13,     0x7fffd8, 23,   0xfffffe2, 28,  0xfffffe3, 28,  0xfffffe4, 28,   // 0-4
  0xfffffe5, 28,  0xfffffe6, 28,  0xfffffe7, 28,  0xfffffe8, 28,  0xffffea, 24,    // 5-9
  0x3ffffffc, 30, 0xfffffe9, 28,  0xfffffea, 28,  0x3ffffffd, 30, 0xfffffeb, 28,   // 10-14
  0xfffffec, 28,  0xfffffed, 28,  0xfffffee, 28,  0xfffffef, 28,  0xffffff0, 28,   // 15-19
  0xffffff1, 28,  0xffffff2, 28,  0x3ffffffe, 30, 0xffffff3, 28,  0xffffff4, 28,   // 20-24
  0xffffff5, 28,  0xffffff6, 28,  0xffffff7, 28,  0xffffff8, 28,  0xffffff9, 28,   // 25-29
  0xffffffa, 28,  0xffffffb, 28,  0x14, 6,        0x3f8, 10,      0x3f9, 10,       // 30-34
  0xffa, 12,      0x1ff9, 13,     0x15, 6,        0xf8, 8,        0x7fa, 11,       // 35-39
  0x3fa, 10,      0x3fb, 10,      0xf9, 8,        0x7fb, 11,      0xfa, 8,         // 40-44
  0x16, 6,        0x17, 6,        0x18, 6,        0x0, 5,         0x1, 5,          // 45-49
  0x2, 5,         0x19, 6,        0x1a, 6,        0x1b, 6,        0x1c, 6,         // 50-54
  0x1d, 6,        0x1e, 6,        0x1f, 6,        0x5c, 7,        0xfb, 8,         // 55-59
  0x7ffc, 15,     0x20, 6,        0xffb, 12,      0x3fc, 10,      0x1ffa, 13,      // 60-64
  0x21, 6,        0x5d, 7,        0x5e, 7,        0x5f, 7,        0x60, 7,         // 65-69
  0x61, 7,        0x62, 7,        0x63, 7,        0x64, 7,        0x65, 7,         // 70-74
  0x66, 7,        0x67, 7,        0x68, 7,        0x69, 7,        0x6a, 7,         // 75-79
  0x6b, 7,        0x6c, 7,        0x6d, 7,        0x6e, 7,        0x6f, 7,         // 80-84
  0x70, 7,        0x71, 7,        0x72, 7,        0xfc, 8,        0x73, 7,         // 85-89
  0xfd, 8,        0x1ffb, 13,     0x7fff0, 19,    0x1ffc, 13,     0x3ffc, 14,      // 90-94
  0x22, 6,        0x7ffd, 15,     0x3, 5,         0x23, 6,        0x4, 5,          // 95-99
  0x24, 6,        0x5, 5,         0x25, 6,        0x26, 6,        0x27, 6,         // 100-104
  0x6, 5,         0x74, 7,        0x75, 7,        0x28, 6,        0x29, 6,         // 105-109
  0x2a, 6,        0x7, 5,         0x2b, 6,        0x76, 7,        0x2c, 6,         // 110-114
  0x8, 5,         0x9, 5,         0x2d, 6,        0x77, 7,        0x78, 7,         // 115-119
  0x79, 7,        0x7a, 7,        0x7b, 7,        0x7ffe, 15,     0x7fc, 11,       // 120-124
  0x3ffd, 14,     0x1ffd, 13,     0xffffffc, 28,  0xfffe6, 20,    0x3fffd2, 22,    // 125-129
  0xfffe7, 20,    0xfffe8, 20,    0x3fffd3, 22,   0x3fffd4, 22,   0x3fffd5, 22,    // 130-134
  0x7fffd9, 23,   0x3fffd6, 22,   0x7fffda, 23,   0x7fffdb, 23,   0x7fffdc, 23,    // 135-139
  0x7fffdd, 23,   0x7fffde, 23,   0xffffeb, 24,   0x7fffdf, 23,   0xffffec, 24,    // 140-144
  0xffffed, 24,   0x3fffd7, 22,   0x7fffe0, 23,   0xffffee, 24,   0x7fffe1, 23,    // 145-149
  0x7fffe2, 23,   0x7fffe3, 23,   0x7fffe4, 23,   0x1fffdc, 21,   0x3fffd8, 22,    // 150-154
  0x7fffe5, 23,   0x3fffd9, 22,   0x7fffe6, 23,   0x7fffe7, 23,   0xffffef, 24,    // 155-159
  0x3fffda, 22,   0x1fffdd, 21,   0xfffe9, 20,    0x3fffdb, 22,   0x3fffdc, 22,    // 160-164
  0x7fffe8, 23,   0x7fffe9, 23,   0x1fffde, 21,   0x7fffea, 23,   0x3fffdd, 22,    // 165-169
  0x3fffde, 22,   0xfffff0, 24,   0x1fffdf, 21,   0x3fffdf, 22,   0x7fffeb, 23,    // 170-174
  0x7fffec, 23,   0x1fffe0, 21,   0x1fffe1, 21,   0x3fffe0, 22,   0x1fffe2, 21,    // 175-179
  0x7fffed, 23,   0x3fffe1, 22,   0x7fffee, 23,   0x7fffef, 23,   0xfffea, 20,     // 180-184
  0x3fffe2, 22,   0x3fffe3, 22,   0x3fffe4, 22,   0x7ffff0, 23,   0x3fffe5, 22,    // 185-189
  0x3fffe6, 22,   0x7ffff1, 23,   0x3ffffe0, 26,  0x3ffffe1, 26,  0xfffeb, 20,     // 190-194
  0x7fff1, 19,    0x3fffe7, 22,   0x7ffff2, 23,   0x3fffe8, 22,   0x1ffffec, 25,   // 195-199
  0x3ffffe2, 26,  0x3ffffe3, 26,  0x3ffffe4, 26,  0x7ffffde, 27,  0x7ffffdf, 27,   // 200-204
  0x3ffffe5, 26,  0xfffff1, 24,   0x1ffffed, 25,  0x7fff2, 19,    0x1fffe3, 21,    // 205-209
  0x3ffffe6, 26,  0x7ffffe0, 27,  0x7ffffe1, 27,  0x3ffffe7, 26,  0x7ffffe2, 27,   // 210-214
  0xfffff2, 24,   0x1fffe4, 21,   0x1fffe5, 21,   0x3ffffe8, 26,  0x3ffffe9, 26,   // 215-219
  0xffffffd, 28,  0x7ffffe3, 27,  0x7ffffe4, 27,  0x7ffffe5, 27,  0xfffec, 20,     // 220-224
  0xfffff3, 24,   0xfffed, 20,    0x1fffe6, 21,   0x3fffe9, 22,   0x1fffe7, 21,    // 225-229
  0x1fffe8, 21,   0x7ffff3, 23,   0x3fffea, 22,   0x3fffeb, 22,   0x1ffffee, 25,   // 230-234
  0x1ffffef, 25,  0xfffff4, 24,   0xfffff5, 24,   0x3ffffea, 26,  0x7ffff4, 23,    // 235-239
  0x3ffffeb, 26,  0x7ffffe6, 27,  0x3ffffec, 26,  0x3ffffed, 26,  0x7ffffe7, 27,   // 240-244
  0x7ffffe8, 27,  0x7ffffe9, 27,  0x7ffffea, 27,  0x7ffffeb, 27,  0xffffffe, 28,   // 245-249
  0x7ffffec, 27,  0x7ffffed, 27,  0x7ffffee, 27,  0x7ffffef, 27,  0x7fffff0, 27,   // 250-254
  0x3ffffee, 26,  0x3fffffff, 30,                                                  // 255-256
];

const EOS = 256;

/** Code of each byte value, right-aligned. */
export const HUFFMAN_CODES = new Uint32Array(257);
/** Bit length of each byte value's code (5 to 30). */
export const HUFFMAN_BITS = new Uint8Array(257);
for (let s = 0; s <= EOS; s++) {
  HUFFMAN_CODES[s] = CODE_TABLE[2 * s];
  HUFFMAN_BITS[s] = CODE_TABLE[2 * s + 1];
}

// ---- Decoder: a state machine over 4-bit input, built once from the code table -------------
//
// A state is an internal node of the code tree (257 leaves, so 256 internal nodes; the root is
// state 0). For each state and each 4-bit nibble, DECODE_TABLE holds the state after walking
// the nibble's bits, and the symbol completed on the way: every code is at least 5 bits long, so
// a nibble completes at most one. Walking into EOS is an error (RFC 7541 §5.2). One lookup per
// nibble instead of one per bit.

const STATE_MASK = 0xff;
const SYMBOL_SHIFT = 8;
const EMITS = 1 << 16;
const FAILS = 1 << 17;

/** [state << 4 | nibble] -> next state | symbol << 8 | EMITS | FAILS. */
const DECODE_TABLE = new Uint32Array(256 * 16);
/**
 * 1 for states where the input may end: the bits since the last symbol are at most 7 and all
 * ones, a prefix of EOS (RFC 7541 §5.2). The root is one of them (no padding at all).
 */
const ACCEPTS = new Uint8Array(256);

function buildDecodeTable(): void {
  // children[2 * node + bit]: an internal node (>= 0) or a leaf, -1 - symbol; -(1 << 20) is unset.
  const UNSET = -(1 << 20);
  const children = new Int32Array(2 * 256).fill(UNSET);
  const depth = new Uint8Array(256);
  const allOnes = new Uint8Array(256);
  allOnes[0] = 1;
  let nodes = 1;
  for (let s = 0; s <= EOS; s++) {
    const code = HUFFMAN_CODES[s];
    const bits = HUFFMAN_BITS[s];
    let node = 0;
    for (let i = bits - 1; i > 0; i--) {
      const bit = (code >>> i) & 1;
      let next = children[2 * node + bit];
      if (next === UNSET) {
        next = nodes++;
        children[2 * node + bit] = next;
        depth[next] = depth[node] + 1;
        allOnes[next] = allOnes[node] & bit;
      }
      node = next;
    }
    children[2 * node + (code & 1)] = -1 - s;
  }
  for (let state = 0; state < 256; state++) {
    ACCEPTS[state] = allOnes[state] === 1 && depth[state] <= 7 ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let i = 3; i >= 0; i--) {
        const next = children[2 * node + ((nibble >>> i) & 1)];
        if (next >= 0) {
          node = next;
          continue;
        }
        const symbol = -1 - next;
        if (symbol === EOS) {
          entry = FAILS;
          break;
        }
        entry = EMITS | (symbol << SYMBOL_SHIFT);
        node = 0;
      }
      DECODE_TABLE[(state << 4) | nibble] = entry | node;
    }
  }
}
buildDecodeTable();

/** huffmanDecode's result when the input holds EOS. */
export const HUFFMAN_EOS = -1;
/** huffmanDecode's result when the padding is longer than 7 bits or not all ones. */
export const HUFFMAN_BAD_PADDING = -2;

/**
 * Decodes src[start, end) into dst from dstStart and returns where the output ends, or
 * HUFFMAN_EOS / HUFFMAN_BAD_PADDING. dst needs room for (end - start) * 8 / 5 bytes (every code
 * is at least 5 bits).
 */
export function huffmanDecode(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dstStart: number,
): number {
  let state = 0;
  let out = dstStart;
  for (let i = start; i < end; i++) {
    const byte = src[i];
    let e = DECODE_TABLE[(state << 4) | (byte >>> 4)];
    if ((e & FAILS) !== 0) return HUFFMAN_EOS;
    if ((e & EMITS) !== 0) dst[out++] = e >>> SYMBOL_SHIFT;
    state = e & STATE_MASK;
    e = DECODE_TABLE[(state << 4) | (byte & 0xf)];
    if ((e & FAILS) !== 0) return HUFFMAN_EOS;
    if ((e & EMITS) !== 0) dst[out++] = e >>> SYMBOL_SHIFT;
    state = e & STATE_MASK;
  }
  return ACCEPTS[state] === 1 ? out : HUFFMAN_BAD_PADDING;
}

// ---- Encoder ------------------------------------------------------------------------------

/**
 * Bytes the Huffman form of a latin1 string takes (RFC 7541 §5.2: padded to whole bytes).
 * Characters above 0xff count as their low byte, as Buffer's latin1 does.
 */
export function huffmanLength(str: string): number {
  let bits = 0;
  for (let i = 0; i < str.length; i++) bits += HUFFMAN_BITS[str.charCodeAt(i) & 0xff];
  return (bits + 7) >>> 3;
}

/**
 * Writes the Huffman form of a latin1 string into dst from pos and returns where it ends, or -1
 * as soon as it does not fit before `limit` (what is in dst up to limit is then garbage). With
 * limit = pos + str.length - 1, -1 means "not shorter than the raw string": one pass both
 * decides and encodes.
 */
export function huffmanEncode(
  str: string,
  dst: Uint8Array,
  pos: number,
  limit: number = dst.length,
): number {
  // acc holds the `pending` bits not yet written (fewer than 8 between symbols) in its low bits;
  // what lies above them is never read (a byte store keeps the low 8 bits of acc >>> pending),
  // so acc is not masked. A code over 24 bits goes in two steps (at most 6 bits, then 24) so
  // that the bits in use never pass 31.
  let acc = 0;
  let pending = 0;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i) & 0xff;
    let code = HUFFMAN_CODES[c];
    let bits = HUFFMAN_BITS[c];
    if (bits > 24) {
      const high = bits - 24;
      acc = (acc << high) | (code >>> 24);
      pending += high;
      if (pending >= 8) {
        if (pos >= limit) return -1;
        pending -= 8;
        dst[pos++] = acc >>> pending;
      }
      code &= 0xffffff;
      bits = 24;
    }
    acc = (acc << bits) | code;
    pending += bits;
    while (pending >= 8) {
      if (pos >= limit) return -1;
      pending -= 8;
      dst[pos++] = acc >>> pending;
    }
  }
  // Pad with the most significant bits of EOS, which are all ones (RFC 7541 §5.2).
  if (pending > 0) {
    if (pos >= limit) return -1;
    dst[pos++] = (acc << (8 - pending)) | (0xff >>> pending);
  }
  return pos;
}
