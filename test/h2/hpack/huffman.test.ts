// Huffman code (RFC 7541 Appendix B): the table itself, the strings of Appendix C, every byte
// value, seeded random strings, and the padding and EOS errors of §5.2.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  HUFFMAN_BAD_PADDING,
  HUFFMAN_BITS,
  HUFFMAN_CODES,
  HUFFMAN_EOS,
  huffmanDecode,
  huffmanEncode,
  huffmanLength,
} from '../../../h2/hpack/huffman.js';
import { seededRandom } from '../../support/fake-clock.js';
import { hex } from './hex.js';

function encode(text: string): Buffer {
  const out = Buffer.alloc(huffmanLength(text));
  assert.equal(
    huffmanEncode(text, out, 0),
    out.length,
    `encoded length of ${JSON.stringify(text)}`,
  );
  return out;
}

/** The decoded latin1 string, or the error result. */
function decode(bytes: Buffer): string | number {
  const dst = Buffer.alloc(Math.ceil((bytes.length * 8) / 5));
  const n = huffmanDecode(bytes, 0, bytes.length, dst, 0);
  return n < 0 ? n : dst.toString('latin1', 0, n);
}

// Every Huffman string in RFC 7541 C.4 and C.6.
const RFC_STRINGS: [string, string][] = [
  ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
  ['no-cache', 'a8eb 1064 9cbf'],
  ['custom-key', '25a8 49e9 5ba9 7d7f'],
  ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
  ['302', '6402'],
  ['307', '640e ff'],
  ['private', 'aec3 771a 4b'],
  ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'],
  ['Mon, 21 Oct 2013 20:13:22 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff'],
  ['https://www.example.com', '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'],
  ['gzip', '9bd9 ab'],
  [
    'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
    '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ],
];

test('the code table is Appendix B: a complete canonical prefix code, EOS 30 ones', () => {
  assert.equal(HUFFMAN_CODES[256], 0x3fffffff);
  assert.equal(HUFFMAN_BITS[256], 30);
  assert.equal(HUFFMAN_CODES[0], 0x1ff8);
  assert.equal(HUFFMAN_CODES['0'.charCodeAt(0)], 0);
  assert.equal(HUFFMAN_BITS['0'.charCodeAt(0)], 5);
  // Kraft equality: the code lengths fill the whole code space exactly.
  let sum = 0;
  for (let s = 0; s <= 256; s++) sum += 2 ** (30 - HUFFMAN_BITS[s]);
  assert.equal(sum, 2 ** 30);
  // Canonical: ordered by (length, symbol), each code is the previous one plus one, shifted.
  const order = Array.from({ length: 257 }, (_, s) => s).sort(
    (a, b) => HUFFMAN_BITS[a] - HUFFMAN_BITS[b] || a - b,
  );
  let code = 0;
  for (let i = 1; i < order.length; i++) {
    code = (code + 1) * 2 ** (HUFFMAN_BITS[order[i]] - HUFFMAN_BITS[order[i - 1]]);
    assert.equal(HUFFMAN_CODES[order[i]], code, `symbol ${order[i]}`);
  }
});

test('the strings of RFC 7541 C.4 and C.6 encode and decode to the exact bytes', () => {
  for (const [text, bytes] of RFC_STRINGS) {
    assert.deepEqual(encode(text), hex(bytes), text);
    assert.equal(huffmanLength(text), hex(bytes).length, text);
    assert.equal(decode(hex(bytes)), text);
  }
});

test('every byte value round-trips, alone and all 256 in one string', () => {
  for (let b = 0; b < 256; b++) {
    const s = String.fromCharCode(b);
    assert.equal(decode(encode(s)), s, `byte ${b}`);
  }
  let all = '';
  for (let b = 0; b < 256; b++) all += String.fromCharCode(b);
  assert.equal(decode(encode(all)), all);
  assert.equal(decode(encode(all.split('').reverse().join(''))), all.split('').reverse().join(''));
});

test('2,000 seeded random strings round-trip, and huffmanLength is the encoded size', () => {
  const random = seededRandom(7541);
  for (let n = 0; n < 2_000; n++) {
    const length = Math.floor(random() * (n % 10 === 0 ? 600 : 40));
    // Half the strings printable ASCII (what headers mostly are), half any byte.
    const span = n % 2 === 0 ? 95 : 256;
    const base = n % 2 === 0 ? 32 : 0;
    let s = '';
    for (let i = 0; i < length; i++) s += String.fromCharCode(base + Math.floor(random() * span));
    const bytes = encode(s);
    assert.equal(decode(bytes), s, `string ${n}`);
  }
});

test('an encoder writes at an offset and stops at the computed end', () => {
  const out = Buffer.alloc(20, 0xaa);
  const end = huffmanEncode('no-cache', out, 3);
  assert.equal(end, 9);
  assert.deepEqual(out.subarray(3, 9), hex('a8eb 1064 9cbf'));
  assert.equal(out[2], 0xaa);
  assert.equal(out[9], 0xaa);
});

test('padding of up to 7 one bits is accepted', () => {
  // Five '0' symbols are 25 zero bits: the last byte is one zero bit and 7 bits of padding.
  assert.deepEqual(encode('00000'), Buffer.from([0, 0, 0, 0x7f]));
  assert.equal(decode(Buffer.from([0, 0, 0, 0x7f])), '00000');
  assert.equal(decode(Buffer.alloc(0)), '');
});

test('padding that is not all ones is an error', () => {
  // '0' is 00000; the next three bits must be 111.
  assert.equal(decode(Buffer.from([0x00])), HUFFMAN_BAD_PADDING);
  assert.equal(decode(Buffer.from([0x06])), HUFFMAN_BAD_PADDING);
  assert.equal(decode(Buffer.from([0x07])), '0');
});

test('padding longer than 7 bits is an error, even when all ones', () => {
  assert.equal(decode(Buffer.from([0x07, 0xff])), HUFFMAN_BAD_PADDING);
  assert.equal(decode(Buffer.from([0xff])), HUFFMAN_BAD_PADDING);
});

test('EOS inside a string is an error', () => {
  // 30 ones are EOS, whatever follows.
  assert.equal(decode(hex('ffff fffc')), HUFFMAN_EOS);
  assert.equal(decode(hex('ffff ffff')), HUFFMAN_EOS);
  // After a symbol: '0' (00000) then EOS then padding.
  assert.equal(decode(hex('07ff ffff e0')), HUFFMAN_EOS);
});

test('with a limit, encoding stops with -1 as soon as the output would pass it', () => {
  const out = Buffer.alloc(32);
  // "no-cache" takes 6 bytes: it fits in 6, not in 5.
  assert.equal(huffmanEncode('no-cache', out, 2, 8), 8);
  assert.deepEqual(out.subarray(2, 8), hex('a8eb 1064 9cbf'));
  assert.equal(huffmanEncode('no-cache', out, 2, 7), -1);
  // Bytes with long codes: 4 raw bytes take 13 Huffman bytes.
  assert.equal(huffmanEncode(String.fromCharCode(0, 1, 2, 3), out, 0, 3), -1);
});
