// HPACK decoder: output shape, never-indexed fields, the errors of RFC 7541 §5 and §6 with
// their codes, table size updates (§4.2, §6.3) and the header list size limit (an HPACK bomb).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HpackDecoder } from '../../../h2/hpack/decoder.js';
import { HpackError, type HpackErrorCode } from '../../../h2/hpack/errors.js';
import { HeaderList } from '../../../h2/hpack/header-list.js';
import { huffmanEncode, huffmanLength } from '../../../h2/hpack/huffman.js';
import { decodeBlock } from './decode-block.js';
import { hex } from './hex.js';

const decodeAll = decodeBlock;

function expectError(
  block: Buffer,
  code: HpackErrorCode,
  offset: number,
  decoder = new HpackDecoder(),
): HpackError {
  const { error } = decodeAll(decoder, block);
  assert.ok(error instanceof HpackError, `expected ${code}, got no error`);
  assert.equal(error.code, code, error.message);
  assert.equal(error.offset, offset, error.message);
  assert.equal(error.connectionError, true);
  return error;
}

/** A string literal (RFC 7541 §5.2), raw, with a length below 127. */
function str(text: string): Buffer {
  assert.ok(text.length < 127);
  return Buffer.concat([Buffer.from([text.length]), Buffer.from(text, 'latin1')]);
}

/** A Huffman string literal with a length below 127. */
function huff(text: string): Buffer {
  const body = Buffer.alloc(huffmanLength(text));
  huffmanEncode(text, body, 0);
  assert.ok(body.length < 127);
  return Buffer.concat([Buffer.from([0x80 | body.length]), body]);
}

test('fields come out flat, in block order, with repeated names kept apart', () => {
  const block = Buffer.concat([
    hex('82 86'), // :method GET, :scheme http
    Buffer.from([0x00]),
    str('x-md'),
    str('1'),
    Buffer.from([0x00]),
    str('x-md'),
    str('2'),
    Buffer.from([0x0f, 0x10]), // without indexing, name 31 (content-type)
    huff('application/grpc'),
  ]);
  const { out, error } = decodeAll(new HpackDecoder(), block);
  assert.equal(error, null);
  assert.deepEqual(out, [
    ':method',
    'GET',
    ':scheme',
    'http',
    'x-md',
    '1',
    'x-md',
    '2',
    'content-type',
    'application/grpc',
  ]);
});

test('values are octets: bytes above 0x7f come back as latin1 characters, raw or Huffman', () => {
  const octets = String.fromCharCode(0x00, 0x7f, 0x80, 0xc3, 0xa9, 0xff, 0x20);
  const block = Buffer.concat([
    Buffer.from([0x00]),
    str('x-bin'),
    str(octets),
    Buffer.from([0x00]),
    str('x-huff'),
    huff(octets),
  ]);
  const { out, error } = decodeAll(new HpackDecoder(), block);
  assert.equal(error, null);
  assert.deepEqual(out, ['x-bin', octets, 'x-huff', octets]);
});

test('never-indexed fields are reported by the position of their name', () => {
  const block = Buffer.concat([
    hex('82'),
    Buffer.from([0x10]),
    str('password'),
    str('secret'),
    Buffer.from([0x00]),
    str('x-plain'),
    str('v'),
    Buffer.from([0x1f, 0x08]), // never indexed, name index 23 (authorization)
    str('Bearer t'),
  ]);
  const { out, never, error } = decodeAll(new HpackDecoder(), block);
  assert.equal(error, null);
  assert.deepEqual(never, [2, 6]);
  assert.equal(out[2], 'password');
  assert.equal(out[6], 'authorization');
  assert.equal(out[7], 'Bearer t');
});

test('decodes a block in the middle of a larger buffer, reading only its range', () => {
  const buf = Buffer.concat([hex('ffff ff'), hex('8286 84'), hex('ffff')]);
  const { out, error } = decodeBlock(new HpackDecoder(), buf, 3, 6);
  assert.equal(error, null);
  assert.deepEqual(out, [':method', 'GET', ':scheme', 'http', ':path', '/']);
});

test('a range outside the buffer is a programming error, thrown', () => {
  const list = new HeaderList();
  assert.throws(() => new HpackDecoder().decode(hex('82'), 0, 2, list), RangeError);
  assert.throws(() => new HpackDecoder().decode(hex('82'), 1, 0, list), RangeError);
});

test('integers of several bytes: a long literal value and a dynamic index past 127', () => {
  const decoder = new HpackDecoder({ maxTableSize: 65536 });
  const value = 'v'.repeat(300);
  // 300 - 127 = 173 = 0xad 0x01.
  const long = Buffer.concat([hex('00'), str('long'), hex('7f ad01'), Buffer.from(value)]);
  assert.deepEqual(decodeAll(decoder, long).out, ['long', value]);
  const adds: Buffer[] = [];
  for (let i = 0; i < 100; i++) adds.push(Buffer.from([0x40]), str(`n${i}`), str('v'));
  assert.equal(decodeAll(decoder, Buffer.concat(adds)).error, null);
  // Index 61 + 100 = 161: the oldest entry, n0; 161 - 127 = 34.
  assert.deepEqual(decodeAll(decoder, hex('ff22')).out, ['n0', 'v']);
  assert.deepEqual(decodeAll(decoder, hex('be')).out, ['n99', 'v']);
});

test('Huffman strings longer than the shared scratch space decode too', () => {
  for (const length of [10_000, 100_000]) {
    const value = 'abcdefghij'.repeat(length / 10);
    const body = Buffer.alloc(huffmanLength(value));
    huffmanEncode(value, body, 0);
    const n = body.length - 127;
    const lengthBytes: number[] = [0xff];
    let rest = n;
    while (rest >= 128) {
      lengthBytes.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    lengthBytes.push(rest);
    const block = Buffer.concat([hex('00'), str('big'), Buffer.from(lengthBytes), body]);
    const decoder = new HpackDecoder({ maxHeaderListSize: 1 << 20 });
    assert.deepEqual(decodeAll(decoder, block).out, ['big', value]);
  }
});

test('index 0 is an error (§6.1)', () => {
  expectError(hex('82 80'), 'SWY_ERR_H2_HPACK_BAD_INDEX', 1);
});

test('an index past the static and dynamic tables is an error, for a field or a name', () => {
  expectError(hex('be'), 'SWY_ERR_H2_HPACK_BAD_INDEX', 0); // 62 with an empty table
  const decoder = new HpackDecoder();
  assert.equal(decodeAll(decoder, Buffer.concat([hex('40'), str('a'), str('b')])).error, null);
  assert.deepEqual(decodeAll(decoder, hex('be')).out, ['a', 'b']);
  expectError(hex('bf'), 'SWY_ERR_H2_HPACK_BAD_INDEX', 0, decoder); // 63 with one entry
  // Literal with incremental indexing, name index 63.
  expectError(Buffer.concat([hex('7f00'), str('v')]), 'SWY_ERR_H2_HPACK_BAD_INDEX', 0, decoder);
  // Literal without indexing, name index 15 + 48 = 63.
  expectError(Buffer.concat([hex('82 0f30'), str('v')]), 'SWY_ERR_H2_HPACK_BAD_INDEX', 1, decoder);
});

test('integers above 2^32 - 1 or with more than 5 continuation bytes are errors', () => {
  // 127 + 0x7f * 1 + 0x7f * 128 + ... : 5 bytes of 0xff then 0x0f exceeds 2^32.
  expectError(hex('ff ffffffff0f'), 'SWY_ERR_H2_HPACK_INTEGER_OVERFLOW', 0);
  // 2^32 - 1 itself is the largest integer read: as an index it is simply past the table.
  // 0xffffffff - 127 = 0xffffff80 -> 00 7f 7f 7f 0f in 7-bit groups.
  expectError(hex('ff 80ffffff0f'), 'SWY_ERR_H2_HPACK_BAD_INDEX', 0);
  // Zero-valued continuation bytes count too: six of them is too many.
  expectError(hex('ff 808080808000'), 'SWY_ERR_H2_HPACK_INTEGER_OVERFLOW', 0);
  // In a string length.
  expectError(
    Buffer.concat([hex('00'), hex('ff ffffffff7f')]),
    'SWY_ERR_H2_HPACK_INTEGER_OVERFLOW',
    1,
  );
});

test('a block that ends inside an integer or a string is an error', () => {
  expectError(hex('ff'), 'SWY_ERR_H2_HPACK_TRUNCATED', 0);
  expectError(hex('ff80'), 'SWY_ERR_H2_HPACK_TRUNCATED', 0);
  expectError(hex('40'), 'SWY_ERR_H2_HPACK_TRUNCATED', 1); // no name string
  expectError(Buffer.concat([hex('40'), str('a')]), 'SWY_ERR_H2_HPACK_TRUNCATED', 3); // no value
  expectError(hex('40 05 6162'), 'SWY_ERR_H2_HPACK_TRUNCATED', 1); // 5 bytes announced, 2 left
  // A length far past the block must not be read as a huge allocation.
  expectError(hex('00 01 61 ff ffffff07'), 'SWY_ERR_H2_HPACK_TRUNCATED', 3);
});

test('bad Huffman padding or EOS in a string is an error', () => {
  // Name '0' padded with zero bits.
  expectError(hex('00 8100 0161'), 'SWY_ERR_H2_HPACK_BAD_HUFFMAN', 1);
  // Value padded with 8 bits of ones after '0'.
  expectError(
    Buffer.concat([hex('00'), str('a'), hex('82 07ff')]),
    'SWY_ERR_H2_HPACK_BAD_HUFFMAN',
    3,
  );
  // EOS in the value.
  expectError(
    Buffer.concat([hex('00'), str('a'), hex('84 ffff fffc')]),
    'SWY_ERR_H2_HPACK_BAD_HUFFMAN',
    3,
  );
});

test('a size update above the advertised SETTINGS_HEADER_TABLE_SIZE is an error', () => {
  // 4097 = 31 + 4066: 0x3f e2 1f.
  expectError(hex('3fe21f 82'), 'SWY_ERR_H2_HPACK_BAD_TABLE_SIZE_UPDATE', 0);
  // 4096 itself is allowed, and so is 0 followed by 4096.
  const decoder = new HpackDecoder();
  assert.equal(decodeAll(decoder, hex('3fe11f 82')).error, null);
  assert.equal(decodeAll(decoder, hex('20 3fe11f 82')).error, null);
  assert.equal(decoder.table.maxSize, 4096);
});

test('a size update after the first field is an error (§4.2)', () => {
  expectError(hex('82 20'), 'SWY_ERR_H2_HPACK_BAD_TABLE_SIZE_UPDATE', 1);
});

test('a size update resizes the table and evicts', () => {
  const decoder = new HpackDecoder();
  decodeAll(decoder, Buffer.concat([hex('40'), str('a'), str('1'), hex('40'), str('b'), str('2')]));
  assert.equal(decoder.table.size, 68);
  assert.equal(decodeAll(decoder, hex('3f03 82')).error, null); // 34
  assert.deepEqual(decoder.table.entries(), [['b', '2']]);
  assert.deepEqual(decodeAll(decoder, hex('be')).out, ['b', '2']);
  expectError(hex('bf'), 'SWY_ERR_H2_HPACK_BAD_INDEX', 0, decoder);
});

test('after SETTINGS_HEADER_TABLE_SIZE is lowered, the next block must start with an update to at most the new value', () => {
  const decoder = new HpackDecoder();
  decoder.setMaxTableSize(256);
  // Found missing at the first field.
  expectError(hex('82'), 'SWY_ERR_H2_HPACK_BAD_TABLE_SIZE_UPDATE', 0, decoder);

  const ok = new HpackDecoder();
  ok.setMaxTableSize(256);
  assert.equal(decodeAll(ok, hex('3fe101 82')).error, null); // 256
  assert.equal(ok.table.maxSize, 256);
  assert.equal(decodeAll(ok, hex('82')).error, null); // once is enough
  expectError(hex('3fe201 82'), 'SWY_ERR_H2_HPACK_BAD_TABLE_SIZE_UPDATE', 0, ok); // 257 > 256

  // Lowered twice, then raised, between blocks: the lowest value must be signalled (§4.2).
  const twice = new HpackDecoder();
  twice.setMaxTableSize(1000);
  twice.setMaxTableSize(100);
  twice.setMaxTableSize(4096);
  expectError(hex('3fc907 82'), 'SWY_ERR_H2_HPACK_BAD_TABLE_SIZE_UPDATE', 3, twice); // 1000 only
  const twice2 = new HpackDecoder();
  twice2.setMaxTableSize(1000);
  twice2.setMaxTableSize(100);
  twice2.setMaxTableSize(4096);
  assert.equal(decodeAll(twice2, hex('3f45 3fe11f 82')).error, null); // 100, then 4096
  assert.equal(twice2.table.maxSize, 4096);

  // A block with nothing but the update is fine; one with nothing at all is not.
  const empty = new HpackDecoder();
  empty.setMaxTableSize(0);
  expectError(Buffer.alloc(0), 'SWY_ERR_H2_HPACK_BAD_TABLE_SIZE_UPDATE', 0, empty);
  const only = new HpackDecoder();
  only.setMaxTableSize(0);
  assert.equal(decodeAll(only, hex('20')).error, null);
});

test('raising SETTINGS_HEADER_TABLE_SIZE needs no update; updates up to the new value are allowed', () => {
  const decoder = new HpackDecoder();
  decoder.setMaxTableSize(8192);
  assert.equal(decodeAll(decoder, hex('82')).error, null);
  assert.equal(decoder.table.maxSize, 4096);
  assert.equal(decodeAll(decoder, hex('3fe13f 82')).error, null); // 8192
  assert.equal(decoder.table.maxSize, 8192);
});

test('an HPACK bomb stops at the header list limit with its own error, and the connection can go on', () => {
  // One 4,000-byte entry, then 16,000 one-byte references to it: 17 KB that would decode to
  // 64 MB of header list.
  const value = 'a'.repeat(4000);
  const block = Buffer.concat([
    hex('40'),
    str('x'),
    hex('7f a11e'), // 127 + 0x21 + 0x1e * 128 = 4000
    Buffer.from(value),
    Buffer.alloc(16_000, 0xbe),
  ]);
  const decoder = new HpackDecoder({ maxHeaderListSize: 65535 });
  const { out, size, error } = decodeAll(decoder, block);
  assert.ok(error instanceof HpackError);
  assert.equal(error.code, 'SWY_ERR_H2_HPACK_HEADER_LIST_TOO_LARGE');
  assert.equal(error.connectionError, false);
  // 16 fields of 4,033 octets fit in 65,535; nothing after the 17th is kept.
  assert.equal(out.length, 2 * 16);
  assert.equal(size, 16 * 4033);
  assert.ok(error.offset > 4000);
  // The table is in step with the encoder: the next block decodes.
  const next = decodeAll(decoder, hex('82 be'));
  assert.equal(next.error, null);
  assert.deepEqual(next.out, [':method', 'GET', 'x', value]);
});

test('past the limit, entries the block adds to the table are still added', () => {
  const decoder = new HpackDecoder({ maxHeaderListSize: 100 });
  const block = Buffer.concat([
    hex('00'),
    str('big'),
    str('b'.repeat(100)),
    hex('40'),
    str('later'),
    str('v'),
    hex('10'),
    str('skipped'),
    str('s'),
  ]);
  const { out, never, error } = decodeAll(decoder, block);
  assert.equal(error?.code, 'SWY_ERR_H2_HPACK_HEADER_LIST_TOO_LARGE');
  assert.deepEqual(out, []);
  assert.deepEqual(never, []);
  assert.deepEqual(decoder.table.entries(), [['later', 'v']]);
  assert.deepEqual(decodeAll(decoder, hex('be')).out, ['later', 'v']);
});

test('the limit counts name + value + 32 per field and may be changed between blocks', () => {
  const decoder = new HpackDecoder({ maxHeaderListSize: 2 * (7 + 3 + 32) });
  const two = decodeAll(decoder, hex('82 82')); // 42 each
  assert.equal(two.error, null);
  assert.equal(two.size, 84);
  assert.equal(
    decodeAll(decoder, hex('82 82 82')).error?.code,
    'SWY_ERR_H2_HPACK_HEADER_LIST_TOO_LARGE',
  );
  decoder.maxHeaderListSize = 1000;
  assert.equal(decodeAll(decoder, hex('82 82 82')).error, null);
});

test('a list says whether its characters follow RFC 9113 §8.2.1, literal or from the table', () => {
  const decoder = new HpackDecoder();
  const decode = (block: Buffer): [string[], boolean] => {
    const list = new HeaderList();
    assert.equal(decoder.decode(block, 0, block.length, list), null);
    return [list.toArray(), list.charactersChecked];
  };
  const literal = (name: Buffer, value: Buffer, indexing = false) =>
    Buffer.concat([Buffer.from([indexing ? 0x40 : 0x00]), name, value]);
  // Good names and values, raw and Huffman, static and new entries: checked.
  assert.deepEqual(
    decode(Buffer.concat([hex('83 86'), literal(str('x-ok'), huff('fine'), true)])),
    [[':method', 'POST', ':scheme', 'http', 'x-ok', 'fine'], true],
  );
  assert.deepEqual(decode(hex('be')), [['x-ok', 'fine'], true]);
  for (const [name, value] of [
    [str('X-Upper'), str('v')],
    [huff('x sp'), str('v')],
    [str('x-a'), str(' leading')],
    [str('x-a'), huff('trailing\t')],
    [str('x-a'), str('cr\rlf')],
    [str(''), str('v')],
  ] as const) {
    assert.equal(decode(literal(name, value))[1], false, `${hexOf(name)} ${hexOf(value)}`);
  }
  // A bad entry in the table makes any list that refers to it (or to an older one) unchecked.
  assert.equal(decode(literal(str('x-bad'), str('a\nb'), true))[1], false);
  assert.equal(decode(hex('be'))[1], false);
  assert.equal(decode(hex('bf'))[1], false);
  assert.equal(decode(hex('82'))[1], true);
  assert.equal(decode(literal(str('x-new'), str('ok'), true))[1], true);
  assert.equal(decode(hex('be'))[1], true);
});

function hexOf(b: Buffer): string {
  return b.toString('hex');
}
